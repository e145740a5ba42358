"""Time the LLTM cell: the fused Cython kernel against the composition of strided ops, and
against PyTorch's Python LLTM (the tutorial's composition of torch ops) when torch is
installed.  Forward alone and forward + backward, median of repeated runs.

    python examples/lltm/benchmark.py [--threads 1] [--repeats 200] [--kernel jit]
                                      [--sizes 16x32x128,64x256x512,256x512x1024]
"""
import argparse
import math
import os
import time

import strided
from lltm import LLTM, LLTMPython, load_kernel


def median_time(fn, repeats):
    for _ in range(max(3, repeats // 10)):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def strided_case(model, batch, features, state):
    x = strided.randn(batch, features)
    h = strided.randn(batch, state)
    c = strided.randn(batch, state)

    def forward():
        with strided.no_grad():
            model(x, (h, c))

    def forward_backward():
        new_h, new_cell = model(x, (h, c))
        (new_h.sum() + new_cell.sum()).backward()
    return forward, forward_backward


def torch_case(batch, features, state):
    import torch
    import torch.nn.functional as F

    class TorchLLTM(torch.nn.Module):        # the tutorial's Python LLTM
        def __init__(self):
            super().__init__()
            self.weights = torch.nn.Parameter(torch.empty(3 * state, features + state))
            self.bias = torch.nn.Parameter(torch.empty(3 * state))
            stdv = 1.0 / math.sqrt(state)
            for p in self.parameters():
                p.data.uniform_(-stdv, +stdv)

        def forward(self, input, st):
            old_h, old_cell = st
            X = torch.cat([old_h, input], dim=1)
            gate_weights = F.linear(X, self.weights, self.bias)
            gates = gate_weights.chunk(3, dim=1)
            input_gate = torch.sigmoid(gates[0])
            output_gate = torch.sigmoid(gates[1])
            candidate_cell = F.elu(gates[2])
            new_cell = old_cell + candidate_cell * input_gate
            new_h = torch.tanh(new_cell) * output_gate
            return new_h, new_cell

    model = TorchLLTM()
    x, h, c = (torch.randn(batch, n) for n in (features, state, state))

    def forward():
        with torch.no_grad():
            model(x, (h, c))

    def forward_backward():
        new_h, new_cell = model(x, (h, c))
        (new_h.sum() + new_cell.sum()).backward()
    return forward, forward_backward


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for both libraries")
    parser.add_argument("--repeats", type=int, default=200, help="timed runs per case")
    parser.add_argument("--kernel", choices=["jit", "prebuilt"], default="jit",
                        help="the JIT build (default) or the one setup.py built")
    parser.add_argument("--sizes", default="16x32x128,64x256x512,256x512x1024",
                        help="batch x features x state cases, comma-separated")
    args = parser.parse_args()
    strided.set_num_threads(args.threads)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    kernel = load_kernel(args.kernel)
    cpu = strided.show_config("dicts")["cpu"]["name"]
    print(f"LLTM cell, float32, {args.threads} thread(s), median of {args.repeats} runs, "
          f"{cpu}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'batch x features x state':>26} {'pass':>17} {'fused (ms)':>11} "
          f"{'composition':>12} {'torch Python':>13} {'fused/comp':>11} {'fused/torch':>12}")
    sizes = [tuple(int(v) for v in case.split("x")) for case in args.sizes.split(",")]
    for batch, features, state in sizes:
        strided.manual_seed(0)
        fused = strided_case(LLTM(features, state, kernel), batch, features, state)
        python = strided_case(LLTMPython(features, state), batch, features, state)
        peer = torch_case(batch, features, state) if torch is not None else (None, None)
        for k, label in enumerate(["forward", "forward+backward"]):
            t_fused = median_time(fused[k], args.repeats) * 1e3
            t_comp = median_time(python[k], args.repeats) * 1e3
            t_torch = median_time(peer[k], args.repeats) * 1e3 if peer[k] else float("nan")
            print(f"{f'{batch} x {features} x {state}':>26} {label:>17} {t_fused:11.3f} "
                  f"{t_comp:12.3f} {t_torch:13.3f} {t_fused / t_comp:11.2f} "
                  f"{t_fused / t_torch:12.2f}")


if __name__ == "__main__":
    main()
