"""Build the LLTM kernel just in time and check it against the Python composition.

    python examples/lltm/jit.py [--verbose]

The first run compiles lltm_kernel.pyx (a few seconds); later runs load the cached build
(strided.utils.extension.load; STRIDED_EXTENSIONS_DIR chooses the cache folder).
"""
import argparse
import time

import strided
from lltm import LLTM, LLTMPython, load_kernel


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print the build commands")
    args = parser.parse_args()
    start = time.perf_counter()
    kernel = load_kernel("jit", verbose=args.verbose)
    print(f"kernel module {kernel.__name__} ready in {time.perf_counter() - start:.2f} s "
          f"({kernel.__file__})")

    strided.manual_seed(0)
    batch, features, state = 16, 32, 128
    fused = LLTM(features, state, kernel, dtype=strided.float64)
    python = LLTMPython(features, state, dtype=strided.float64)
    python.load_state_dict(fused.state_dict())
    x = strided.randn(batch, features, dtype=strided.float64)
    h = strided.randn(batch, state, dtype=strided.float64)
    c = strided.randn(batch, state, dtype=strided.float64)
    outputs = [m(x, (h, c)) for m in (fused, python)]
    for m, (new_h, new_cell) in zip((fused, python), outputs):
        (new_h.sum() + new_cell.sum()).backward()
    diff_out = max((a - b).abs().max().item() for a, b in zip(*outputs))
    diff_grad = max((a.grad - b.grad).abs().max().item()
                    for a, b in zip(fused.parameters(), python.parameters()))
    print(f"largest difference fused vs composition: outputs {diff_out:.2e}, "
          f"weight gradients {diff_grad:.2e}")


if __name__ == "__main__":
    main()
