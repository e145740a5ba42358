"""strided.nn: layers, losses and their functional forms."""
from strided.nn import functional
