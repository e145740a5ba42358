"""localvision: the few torchvision names the ported programs use, without downloads.

torchvision is not part of strided and this machine may be offline, so the ported programs
in examples/ported/ import `localvision` in place of `torchvision` (their only other changed
lines are `import torch` -> `import strided as torch` and the like).  The torch runs of the
same programs import it too, so both libraries train on the same images.

- `datasets.MNIST`, `datasets.FashionMNIST`, `datasets.CIFAR10` read the real data sets
  when their files are on disk in torchvision's layout under `root`
  (`<root>/MNIST/raw/train-images-idx3-ubyte[.gz]` ...,
  `<root>/cifar-10-batches-py/data_batch_1` ...).  Where they are not, they say so on
  stderr and use a named stand-in made from scikit-learn's 8x8 handwritten digits
  (which scikit-learn ships): the digits upsampled to 28x28 in place of (Fashion-)MNIST,
  the digits upsampled and coloured as 3x32x32 images in place of CIFAR-10.
  The stand-ins are not those data sets and their accuracies are not theirs.
- `transforms.ToTensor`, `Normalize`, `Compose`: as torchvision's, on NumPy images.
- `utils.make_grid`: as torchvision's, for a batch of images.

Which library's tensors ToTensor makes: $LOCALVISION_BACKEND (`strided` or `torch`) if
set, else whichever of the two the program has imported.
"""
from . import datasets, transforms, utils

__all__ = ["datasets", "transforms", "utils"]
