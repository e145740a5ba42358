"""Type aliases of strided.nn's annotations (torch.nn.common_types' names): a size per
spatial dim given as one int (the same for every dim) or as a tuple (or list) of ints.
"""
from __future__ import annotations

_size_any_t = int | tuple[int, ...] | list[int]
_size_1_t = int | tuple[int] | list[int]
_size_2_t = int | tuple[int, int] | list[int]
_size_any_opt_t = int | None | tuple[int | None, ...] | list[int | None]
_ratio_any_t = float | tuple[float, ...] | list[float]
