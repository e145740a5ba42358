"""strided.show_config(): the CPU found and the kernels chosen for it (NOTE [ Instruction
sets ] in strided/_C/core/cpu.pyx), the way numpy.show_config() and torch.__config__.show()
report their build."""
from __future__ import annotations
import os
import platform
from typing import Any


def config() -> dict[str, Any]:
    """The configuration as a dict: "cpu" (name, machine, features found, detected ISA,
    STRIDED_ISA cap, ISA in use), "kernels" (ISA of each kernel family; the GEMM's tables
    with their tiles and block sizes), "threads" and "openmp"."""
    from strided._C.core import cpu, threads
    from strided._C.kernels import elementwise, gemm, loss, optim, reduce

    def gemm_table(name):
        info = gemm._table_info(name)
        return {"table": info["name"], "isa": info["isa"],
                "float32": info["float32"], "float64": info["float64"]}

    feats = cpu.features()
    return {
        "cpu": {"name": cpu.cpu_name(), "machine": platform.machine(),
                "features": sorted(f for f, on in feats.items() if on and not f.startswith("os_")),
                "os_saves_ymm": feats.get("os_ymm", False),
                "os_saves_zmm": feats.get("os_zmm", False),
                "detected_isa": cpu.detected_isa(), "STRIDED_ISA": os.environ.get("STRIDED_ISA"),
                "isa": cpu.isa()},
        "kernels": {
            "gemm": gemm_table(gemm._kernel_name()),
            "convolution": gemm_table(gemm._panel_kernel_name()),
            # reductions, losses and optimizers follow the element-wise kernels' build
            # (NOTE [ Kernel dispatch ] in kernels/elementwise.pyx); each says what it loaded
            "element-wise": elementwise.kernel_isa(),
            "reductions": reduce.kernel_isa(),
            "losses": loss.kernel_isa(),
            "optimizers": optim.kernel_isa(),
        },
        "threads": threads.get_num_threads(),
        "openmp": threads.has_openmp(),
    }


def show_config(mode: str = "stdout") -> dict[str, Any] | None:
    """Print the CPU found, the instruction set each kernel family uses and the thread
    count; mode="dicts" returns them as a dict (config()) instead."""
    cfg = config()
    if mode == "dicts":
        return cfg
    if mode != "stdout":
        raise ValueError(f"mode must be 'stdout' or 'dicts', not {mode!r}")
    c, k = cfg["cpu"], cfg["kernels"]
    cap = c["STRIDED_ISA"]
    lines = [
        f"CPU: {c['name']} ({c['machine']})",
        f"  features: {' '.join(c['features']) or '-'}",
        f"  OS saves ymm / zmm registers: {'yes' if c['os_saves_ymm'] else 'no'} / "
        f"{'yes' if c['os_saves_zmm'] else 'no'}",
        f"  instruction set: {c['isa']} (detected {c['detected_isa']}, STRIDED_ISA="
        f"{cap if cap else 'unset'})",
        "Kernels:",
    ]
    for family in ("gemm", "convolution"):
        t = k[family]
        f32, f64 = t["float32"], t["float64"]
        lines.append(
            f"  {family + ':':<14}{t['table']} (float32 tile {f32['mr']}x{f32['nr']}, MC/KC/NC "
            f"{f32['mc']}/{f32['kc']}/{f32['nc']}; float64 tile {f64['mr']}x{f64['nr']}, "
            f"MC/KC/NC {f64['mc']}/{f64['kc']}/{f64['nc']})")
    for family in ("element-wise", "reductions", "losses", "optimizers"):
        lines.append(f"  {family + ':':<14}{k[family]}")
    lines.append(f"Threads: {cfg['threads']} ({'OpenMP' if cfg['openmp'] else 'no OpenMP'})")
    print("\n".join(lines))
