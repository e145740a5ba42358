"""gradcheck: compare a function's analytic gradients with central finite differences."""
from __future__ import annotations
from typing import Any, Callable, Sequence

from strided._C.core.tensor import Tensor
from strided.autograd.engine import grad as autograd_grad
from strided.autograd.grad_mode import no_grad


def gradcheck(fn: Callable[..., Tensor | Sequence[Tensor]], inputs: Tensor | Sequence[Any],
              eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """True when d(fn)/d(input) from backward matches finite differences for every input
    that requires grad (float64 inputs expected).  On a mismatch raises (or returns False)
    naming the input, output and element with the worst error."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input tensor with requires_grad=True")
    for i in diff:
        if inputs[i].dtype.name != "float64":
            import warnings
            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype.name}, not float64; finite "
                          f"differences will be inaccurate")
    outputs = fn(*inputs)
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    outputs = [o for o in outputs if isinstance(o, Tensor) and o.requires_grad]
    from strided.creation import zeros_like
    # every analytic Jacobian row first: the finite differences perturb the inputs in place,
    # which (rightly) invalidates the graph's saved tensors
    rows = []
    for k, out in enumerate(outputs):
        for j in range(out.numel()):
            g = zeros_like(out)
            g.view(-1)[j] = 1.0
            analytic = autograd_grad([out], [inputs[i] for i in diff], [g], retain_graph=True,
                                     allow_unused=True)
            rows.append((k, j, [a.detach().reshape(-1).numpy().copy() if a is not None else None
                                for a in analytic]))
    worst = (0.0, None)
    for k, j, analytic in rows:
        for a, i in zip(analytic, diff):
            numeric = _numeric_column(fn, inputs, i, k, j, eps)
            got = a if a is not None else numeric * 0
            for e in range(numeric.size):
                err = abs(got[e] - numeric[e])
                if err > atol + rtol * abs(numeric[e]) and err > worst[0]:
                    worst = (err, (i, k, j, e, float(got[e]), float(numeric[e])))
    if worst[1] is None:
        return True
    i, k, j, e, got, want = worst[1]
    msg = (f"Jacobian mismatch for output {k} element {j} with respect to input {i} element {e}: "
           f"analytic {got!r}, numerical {want!r} (abs error {worst[0]:.3g}, atol={atol}, "
           f"rtol={rtol})")
    if raise_exception:
        raise RuntimeError(msg)
    return False


def _numeric_column(fn, inputs, i, k, j, eps):
    """d output[k][j] / d inputs[i][e] for every e, by central differences."""
    import numpy as np
    x = inputs[i]
    xd = x.detach()                 # shares x's storage, any layout
    col = np.zeros(x.numel())
    with no_grad():
        for e in range(x.numel()):
            idx = tuple(int(v) for v in np.unravel_index(e, tuple(x.shape)))
            orig = float(xd[idx])
            xd[idx] = orig + eps
            plus = _output(fn, inputs, k, j)
            xd[idx] = orig - eps
            minus = _output(fn, inputs, k, j)
            xd[idx] = orig
            col[e] = (plus - minus) / (2 * eps)
    return col


def _output(fn, inputs, k, j):
    outs = fn(*inputs)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    outs = [o for o in outs if isinstance(o, Tensor) and o.dtype.is_floating_point]
    return float(outs[k].reshape(-1)[j])
