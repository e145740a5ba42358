"""strided.optim: optimizers and learning-rate schedulers (torch.optim's API and rules)."""
from strided.optim.optimizer import Optimizer
from strided.optim.sgd import SGD
from strided.optim.adam import Adam, AdamW
from strided.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
