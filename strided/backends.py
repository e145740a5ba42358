"""strided.backends: availability flags PyTorch programs check (torch.backends.mps,
torch.backends.cudnn).  strided has neither backend."""
from types import SimpleNamespace

mps = SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cudnn = SimpleNamespace(is_available=lambda: False, enabled=False, benchmark=False,
                        deterministic=False)
