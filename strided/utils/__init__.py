"""strided.utils: torch.utils's layout; `strided.utils.data` holds datasets, samplers and the
DataLoader."""
from strided.utils import data

__all__ = ["data"]
