"""strided.nn.functional: the functional forms of layers (PyTorch names and arguments)."""
