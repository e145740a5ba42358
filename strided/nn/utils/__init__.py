"""strided.nn.utils: gradient clipping and parameter/vector conversion (torch.nn.utils), and
a model summary with receptive fields."""
from strided.nn.utils.clip_grad import clip_grad_norm_, clip_grad_norm, clip_grad_value_
from strided.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters
from strided.nn.utils.summary import ReceptiveField, receptive_field, summary

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters", "ReceptiveField", "receptive_field", "summary"]
