"""strided.optim: optimizers and learning-rate schedulers (torch.optim's API and rules)."""
from strided.optim.optimizer import Optimizer
from strided.optim.sgd import SGD
from strided.optim.adam import Adam, AdamW
from strided.optim.rmsprop import RMSprop
from strided.optim.adagrad import Adagrad
from strided.optim.adadelta import Adadelta
from strided.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta",
           "lr_scheduler"]
