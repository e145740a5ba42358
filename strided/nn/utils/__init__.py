"""strided.nn.utils: gradient clipping and parameter/vector conversion (torch.nn.utils)."""
from strided.nn.utils.clip_grad import clip_grad_norm_, clip_grad_norm, clip_grad_value_
from strided.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]
