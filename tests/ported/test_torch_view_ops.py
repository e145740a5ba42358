"""PyTorch's view-op tests, one for one, run against strided.

Source: pytorch/pytorch, test/test_view_ops.py (classes TestViewOps and TestOldViewOps),
as of commit 01c12b21da48d378acb804c80e1955c7ac3f55a4 (PyTorch 2.x; torch 2.13.0 is the
oracle this project tests against).  PyTorch is BSD-3-Clause licensed (Copyright (c)
2016- Facebook, Inc (Adam Paszke) and the PyTorch contributors).

How it was ported: every test of the source that is in scope has a test here under the
same name in the same class, checking the same behaviour on the same inputs; the test
bodies were written for this project from the source's (same inputs, same checks; no
code copied), against strided spelled as PyTorch
(`strided.` for `torch.`), on the shim `_torch_shim.py` (TestCase.assertEqual with
PyTorch's tolerances, @dtypes, make_tensor, instantiate_device_type_tests), so a test
named test_foo_cpu_float32 here is PyTorch's test_foo_cpu_float32.  Mechanical changes:
CPU only; dtype lists cut to strided's dtypes (bool, uint8, int32, int64, float32,
float64); the quantized and sparse halves of test_ravel/test_flatten/test_t dropped;
test_broadcast_shapes follows PyTorch's newer version of the test (ValueError 'Attempting
to broadcast a dimension with negative length!'), which is what torch 2.13 does.

The port is checked against PyTorch itself: `PORTED_ORACLE=1 python -m pytest
tests/ported` runs these same tests on torch (every one passes there).

Left out (not counted), one reason each:
  test_conj_self                       conj views (strided has no complex dtypes)
  test_view_as_complex, test_view_as_real, test_imag_noncomplex, test_real_imag_view,
  test_conj_imag_view, test_conj_view_with_shared_memory, test_set_real_imag,
  test_conj_neg_view_numpy_error       complex dtypes / conj and neg views
  test_chunk_view, test_split_view     skipped in PyTorch itself (unittest.skip)
  test_crow_col_indices                sparse CSR tensors

Every test below either passes or is marked xfail(strict=True) in XFAIL_VIEW/XFAIL_OLD
with the reason: a deliberate difference from PyTorch or the missing piece it needs.
"""
import random
from functools import partial
from itertools import combinations, permutations

import numpy as np

from _torch_shim import (
    lib as torch, np_dtype,
    TestCase, all_types_and, all_types_and_complex_and, dtypes,
    instantiate_device_type_tests, make_tensor, onlyCPU, onlyNativeDeviceTypes, skipMeta,
)


ALL = all_types_and_complex_and(torch.bool)          # the six dtypes
NUMERIC = all_types_and()                            # without bool


def _rand_shape(ndim, lo, hi):
    return tuple(random.randint(lo, hi) for _ in range(ndim))


def _random_input(shape, dtype):
    """Random values for dtype (ints in [15, 100), floats scaled normals, some zeros)."""
    if shape == ():
        return torch.tensor((), dtype=dtype)
    if dtype.is_floating_point:
        x = torch.randn(*shape, dtype=dtype) * random.randint(30, 100)
        x[torch.randn(*shape) > 0.5] = 0
        return x
    if dtype == torch.bool:
        x = torch.zeros(shape, dtype=dtype)
        x[torch.randn(*shape) > 0.5] = True
        return x
    return torch.randint(15, 100, shape, dtype=dtype)


class TestViewOps(TestCase):
    exact_dtype = True

    def is_view_of(self, base, other):
        if not other._is_view() or other is base or other._base is not base:
            return False
        return base.storage().data_ptr() == other.storage().data_ptr()

    def is_view_of_same_base(self, v1, v2):
        if not v1._is_view() or v1 is v2:
            return False
        return self.is_view_of(v1._base, v2)

    def _check_view_writes(self, base, view, view_index, base_index):
        """view is a view of base, and a write through view[view_index] lands in
        base[base_index]."""
        self.assertTrue(self.is_view_of(base, view))
        view[view_index] = 0
        self.assertEqual(base[base_index], view[view_index])

    # -- view(dtype) ------------------------------------------------------------------

    @onlyNativeDeviceTypes
    @dtypes(*ALL)
    def test_view_dtype_new(self, device, dtype):
        targets = {d: np_dtype(d) for d in ALL if d != torch.bool}

        def inputs():
            yield make_tensor((4, 4, 64), dtype=dtype, low=-5, high=5)
            yield make_tensor((4, 4, 64), dtype=dtype, low=-5, high=5).permute(1, 0, 2)
            yield make_tensor((4, 64, 4), dtype=dtype, low=-5, high=5).permute(2, 0, 1)
            yield make_tensor((1, 5, 1), dtype=dtype, low=-5, high=5).expand(5, 5, 64)
            yield make_tensor((2, 5, 256), dtype=dtype, low=-5, high=5)[1::2, 1:, ::2]
            yield make_tensor((0, 5, 64), dtype=dtype, low=-5, high=5)
            yield make_tensor((), dtype=dtype, low=-5, high=5)

        def expected_layout(a, to):
            src, dst = a.element_size(), to.itemsize
            if src == dst:
                return tuple(a.size()), a.stride()
            size, stride = list(a.size()), list(a.stride())
            if src > dst:
                k = src // dst
                size[-1] *= k
                stride = [s * k for s in stride]
            else:
                k = dst // src
                size[-1] //= k
                stride = [s // k for s in stride]
            stride[-1] = 1
            return tuple(size), tuple(stride)

        for a in inputs():
            a_np = a.numpy()
            a_np_contig = a.contiguous().numpy()
            for to, np_to in targets.items():
                same_size = dtype.itemsize == to.itemsize
                if not same_size and a.dim() == 0:
                    with self.assertRaisesRegex(RuntimeError, r"self.dim\(\) cannot be 0"):
                        a.view(to)
                    continue
                if not same_size and a.stride(-1) != 1:
                    with self.assertRaisesRegex(RuntimeError, r"self.stride\(-1\) must be 1"):
                        a.view(to)
                    continue
                v = a.view(to)
                self.assertEqual(v.dtype, to)
                self.assertEqual(v.data_ptr(), a.data_ptr())
                size, stride = expected_layout(a, to)
                self.assertEqual(v.size(), size)
                self.assertEqual(v.stride(), stride)
                self.assertEqual(v.view(dtype), a, rtol=0, atol=0)
                self.assertEqual(v, (a_np if same_size else a_np_contig).view(np_to))

        if dtype.is_floating_point:
            for to in (torch.float32, torch.float64):
                t = make_tensor((5, 5, 64), dtype=dtype, low=-5, high=5, requires_grad=True)
                self.assertFalse(t.view(to).requires_grad)

    @onlyNativeDeviceTypes
    @dtypes(*ALL)
    def test_view_dtype_upsize_errors(self, device, dtype):
        for to in ALL:
            if to.itemsize <= dtype.itemsize:
                continue
            k = to.itemsize // dtype.itemsize
            a = make_tensor((4, 4, k + 1), dtype=dtype, low=-5, high=5)
            with self.assertRaisesRegex(RuntimeError, rf"self.size\(-1\) must be divisible by {k}"):
                a.view(to)
            with self.assertRaisesRegex(RuntimeError,
                                        rf"self.storage_offset\(\) must be divisible by {k}"):
                a[:, :, 1:].view(to)
            b = make_tensor((4, 4, k), dtype=dtype, low=-5, high=5).as_strided((4, 4, k), (k, 1, 1))
            with self.assertRaisesRegex(RuntimeError, rf"self.stride\(1\) must be divisible by {k}"):
                b.view(to)

    # -- splits -----------------------------------------------------------------------

    @onlyNativeDeviceTypes
    @dtypes(*ALL)
    def test_view_tensor_split(self, device, dtype):
        a = make_tensor((40, 30), dtype=dtype, low=-9, high=9)
        for dim in (0, 1):
            for piece in a.tensor_split(7, dim):
                self.assertTrue(self.is_view_of(a, piece))

    def _check_split_view(self, fn, dtype, where):
        t = make_tensor((4, 4, 4), dtype=dtype, low=-9, high=9)
        pieces = fn(t, 2)
        for p in pieces:
            self.assertTrue(self.is_view_of(t, p))
        t[2, 2, 2] = 7
        self.assertEqual(pieces[1][where], t[2, 2, 2])

    @onlyNativeDeviceTypes
    @dtypes(*ALL)
    def test_view_tensor_hsplit(self, device, dtype):
        self._check_split_view(torch.hsplit, dtype, (2, 0, 2))

    @onlyNativeDeviceTypes
    @dtypes(*ALL)
    def test_view_tensor_vsplit(self, device, dtype):
        self._check_split_view(torch.vsplit, dtype, (0, 2, 2))

    @onlyNativeDeviceTypes
    @dtypes(*ALL)
    def test_view_tensor_dsplit(self, device, dtype):
        self._check_split_view(torch.dsplit, dtype, (2, 2, 0))

    # -- one view op each: a view of its input, writes go through -----------------------

    def test_diagonal_view(self, device):
        t = torch.ones((5, 5))
        self._check_view_writes(t, torch.diagonal(t), (0,), (0, 0))
        t = torch.ones((3, 3, 3))
        self._check_view_writes(t, torch.diagonal(t, offset=1, dim1=1, dim2=2), (0, 0), (0, 0, 1))

    def test_select_view(self, device):
        t = torch.ones((5, 5))
        self._check_view_writes(t, t.select(0, 2), (0,), (2, 0))

    def test_unbind_view(self, device):
        t = torch.zeros((5, 5))
        for i, v in enumerate(torch.unbind(t)):
            self.assertTrue(self.is_view_of(t, v))
            v[0] = i + 1
            self.assertEqual(t[i, 0], v[0])

    def test_unbind(self):
        stacked = torch.randn(3, 10, 10, requires_grad=True)
        parts = stacked.unbind()
        grad = torch.randn(3, 10, 10)
        torch.autograd.backward(list(parts), list(grad.unbind()))
        self.assertEqual(stacked.grad, grad)
        for i in range(3):
            stacked = torch.randn(3, 10, 10, requires_grad=True)
            outs = stacked.unbind()
            gi = grad.unbind()[i]
            g, = torch.autograd.grad(outs[i], stacked, gi)
            expected = torch.stack([gi if j == i else torch.zeros_like(gi) for j in range(3)], dim=0)
            self.assertEqual(g, expected)
        stacked = torch.randn(3, 10, 10, dtype=torch.double, requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(lambda x: x.unbind(), (stacked,)))

    def test_expand_view(self, device):
        t = torch.ones((5, 1))
        self._check_view_writes(t, t.expand(5, 5), (2, 2), (2, 0))

    def test_expand_as_view(self, device):
        t = torch.ones((5, 1))
        self._check_view_writes(t, t.expand_as(torch.empty((5, 5))), (2, 2), (2, 0))

    def test_narrow_view(self, device):
        t = torch.ones((5, 5))
        self._check_view_writes(t, torch.narrow(t, 1, 2, 2), (0, 0), (0, 2))

    def test_permute_view(self, device):
        t = torch.ones((5, 5))
        self._check_view_writes(t, t.permute(1, 0), (0, 1), (1, 0))

    def test_transpose_view(self, device):
        for fn in (torch.swapdims, torch.swapaxes, torch.transpose):
            t = torch.ones((5, 5))
            self._check_view_writes(t, fn(t, 0, 1), (0, 1), (1, 0))

    def test_transpose_inplace_view(self, device):
        for name in ("swapdims_", "swapaxes_", "transpose_"):
            t = torch.ones(5, 5)
            v = getattr(t.view_as(t), name)(0, 1)
            self._check_view_writes(t, v, (0, 1), (1, 0))

    def test_t_view(self, device):
        t = torch.ones((5, 5))
        self._check_view_writes(t, t.t(), (0, 1), (1, 0))

    def test_t_inplace_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, t.view_as(t).t_(), (0, 1), (1, 0))

    def test_T_view(self, device):
        for attr in ("T", "H", "mT", "mH"):
            t = torch.ones((5, 5))
            self._check_view_writes(t, getattr(t, attr), (0, 1), (1, 0))

    def test_unfold_view(self, device):
        t = torch.ones(10)
        self._check_view_writes(t, t.unfold(0, 3, 2), (1, 0), (2,))

    def test_squeeze_view(self, device):
        t = torch.ones(5, 1, 5)
        v = torch.squeeze(t)
        self.assertTrue(self.is_view_of(t, v))
        v[0, 1] = 0
        self.assertEqual(t, v._base)

    def test_squeeze_inplace_view(self, device):
        t = torch.ones(5, 5)
        v = t.view_as(t).squeeze_()
        self.assertTrue(self.is_view_of(t, v))
        v[0, 1] = 0
        self.assertEqual(t, v._base)

    def test_unsqueeze_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, torch.unsqueeze(t, 1), (0, 0, 1), (0, 1))

    def test_unsqueeze_inplace_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, t.view_as(t).unsqueeze_(1), (0, 0, 1), (0, 1))

    def test_as_strided_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, torch.as_strided(t, (25,), (1,)), (6,), (1, 1))

    def test_as_strided_inplace_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, t.view_as(t).as_strided_((25,), (1,)), (6,), (1, 1))

    def test_as_strided_gradients(self):
        def check(x, pre, size, stride, offset=None):
            x = x.to(torch.double).detach().requires_grad_()
            with torch.no_grad():
                y = pre(x) if pre is not None else x
                top = sum((n - 1) * s for n, s in zip(size, stride))
                top += offset if offset is not None else y.storage_offset()
                assert top < len(y.storage()), "the case would resize the storage"

            def f(x):
                return (pre(x) if pre is not None else x).as_strided(size, stride, offset)

            self.assertTrue(torch.autograd.gradcheck(f, [x]))
            self.assertTrue(torch.autograd.gradgradcheck(f, [x]))

        check(torch.arange(0, 25), lambda x: x.view(5, 5), [3, 3], [6, 2], 2)
        check(torch.randn(12), None, [1, 2, 1, 5], [0, 5, 100, 1], 2)
        check(torch.randn(5), None, [3, 3, 3], [0, 1, 0], 2)
        check(torch.randn(5), None, [3, 3, 3], [0, 0, 0], 4)
        check(torch.randn(5), lambda x: x.expand(5, 5), [5, 5], [0, 1], 0)
        check(torch.randn(35), None, [6, 6], [5, 1], 2)
        check(torch.randn(15), None, [3, 2], [3, 6], 2)
        check(torch.randn(3, 4), None, [4, 3], [1, 4])
        x = torch.randn(6, 2)
        check(x[3:], None, [3, 2], [2, 1], 0)
        self.assertEqual(x[3:].as_strided([3, 2], [2, 1], 0), x[:3])
        check(torch.randn(2, 3), lambda x: x.expand(10, 2, 3), [2, 3], [3, 1], 0)

    def test_view_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, t.view(25), (6,), (1, 1))

    def test_view_as_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, t.view_as(torch.empty((25,))), (6,), (1, 1))

    def test_contiguous_self(self, device):
        t = torch.ones(5, 5)
        self.assertTrue(t.contiguous() is t)

    @skipMeta
    def test_contiguous_nonview(self, device):
        t = torch.ones(5, 5)
        nv = t.t().contiguous()
        self.assertTrue(not self.is_view_of(t, nv))
        nv[0, 0] = 0
        self.assertNotEqual(t[0, 0], nv[0, 0])

    def test_reshape_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, torch.reshape(t, (25,)), (6,), (1, 1))

    def test_reshape_as_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, t.reshape_as(torch.empty((25,))), (6,), (1, 1))

    @skipMeta
    def test_reshape_nonview(self, device):
        t = torch.ones(5, 5)
        nv = torch.reshape(t.t(), (25,))
        self.assertTrue(not self.is_view_of(t, nv))
        nv[6] = 0
        self.assertNotEqual(t[1, 1], nv[6])

    def test_flatten_view(self, device):
        def writes_reach(t, v):
            v[(0,) * v.ndim] = 0
            self.assertEqual(t[(0,) * t.ndim], v[(0,) * v.ndim])

        t = torch.ones(1, 2, 3, 4)
        v = t.flatten()
        self.assertTrue(self.is_view_of(t, v))
        writes_reach(t, v)

        t = torch.tensor(1)
        v = t.flatten()
        writes_reach(t, v)
        self.assertTrue(self.is_view_of(t, v))

        t = torch.ones(1, 2, 3, 4).transpose(2, 3)
        v = t.flatten(0, 1)
        writes_reach(t, v)
        self.assertTrue(self.is_view_of_same_base(t, v))

        # three groups of dims whose strides chain
        t = torch.ones(720).as_strided((2, 3, 2, 3, 5, 4), (6, 2, 15, 5, 1, 0))
        v1 = t.flatten(0, 1)
        v2 = v1.flatten(1, 3)
        v3 = v2.flatten(2, 2)
        for v in (v1, v2, v3):
            writes_reach(t, v)
            self.assertTrue(self.is_view_of_same_base(t, v))

    @onlyNativeDeviceTypes
    def test_flatten_nonview(self, device):
        def check_copy(t, nv):
            self.assertTrue(not nv._is_view())
            nv[(0,) * nv.ndim] = 0
            self.assertNotEqual(t[(0,) * t.ndim], nv[(0,) * nv.ndim])

        t = torch.ones(2, 3, 2, 3).transpose(2, 3)
        check_copy(t, t.flatten(1, 3))
        t = torch.ones(2, 2).T
        check_copy(t, t.flatten())
        t = torch.ones(2, 2)
        self.assertTrue(t.flatten(1, 1) is t)

    def test_basic_indexing_slice_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, t[:2, :3], (0, 0), (0, 0))

    def test_basic_indexing_ellipses_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, t[..., :2], (0, 0), (0, 0))

    def test_basic_indexing_newaxis_view(self, device):
        t = torch.ones(5, 5)
        self._check_view_writes(t, t[None, :2, 3], (0, 0), (0, 3))

    def test_advanced_indexing_nonview(self, device):
        t = torch.ones(3, 3)
        rows = torch.tensor([[0, 0], [2, 2]])
        cols = torch.tensor([[0, 1], [2, 2]])
        nv = t[rows, cols]
        self.assertTrue(not self.is_view_of(t, nv))
        nv[1, 1] = 0
        self.assertNotEqual(t[2, 2], nv[1, 1])

    def test_advanced_indexing_assignment(self, device):
        t = torch.ones(3, 3)
        t[torch.tensor([[0, 0], [2, 2]]), torch.tensor([[0, 1], [2, 2]])] = 0
        self.assertEqual(t[2, 2], 0)

    def test_movedim_view(self, device):
        def check(op):
            t = torch.zeros(3, 3)
            out = op(t)
            self.assertTrue(self.is_view_of(t, out))
            for _ in range(3):
                i, j = random.randint(0, 2), random.randint(0, 2)
                out[i, j] = random.random()
                self.assertEqual(t[j, i], out[i, j])

        for fn in (torch.movedim, torch.moveaxis):
            check(partial(fn, source=(0, 1), destination=(1, 0)))
            check(partial(fn, source=0, destination=1))

    def test_view_copy(self, device):
        a = torch.randn(4, requires_grad=True)
        a_ref = a.clone().detach().requires_grad_()
        a_view = a_ref.view(2, 2)
        a_view_copy = torch.view_copy(a, (2, 2))
        self.assertTrue(self.is_view_of(a_ref, a_view))
        self.assertFalse(self.is_view_of(a, a_view_copy))
        a_view_copy.sum().backward()
        a_view.sum().backward()
        self.assertEqual(a_view_copy, a_view)
        self.assertEqual(a.grad, a_ref.grad)

    def test_view_copy_out(self, device):
        a = torch.randn(2, 2)
        out = torch.empty(2)
        torch.diagonal_copy(a, out=out)
        self.assertEqual(torch.diagonal_copy(a), out)
        a = torch.randn(4)
        out1, out2 = torch.empty(2), torch.empty(2)
        torch.split_copy(a, 2, out=(out1, out2))
        e1, e2 = torch.split_copy(a, 2)
        self.assertEqual(e1, out1)
        self.assertEqual(e2, out2)


class TestOldViewOps(TestCase):
    def test_ravel(self, device):
        def check(tensors, size, nc=False):
            for src in tensors:
                flat = src.ravel()
                self.assertEqual(flat.shape, torch.Size([size]))
                self.assertEqual(src.view(-1), flat)
                self.assertIs(flat._base, src)
                self.assertTrue(flat.is_contiguous())
                if nc:
                    nc_src = src.t()
                    nc_flat = nc_src.ravel()
                    self.assertEqual(nc_flat.shape, torch.Size([size]))
                    self.assertEqual(nc_src.contiguous().view(-1), nc_flat)
                    self.assertIsNot(nc_flat._base, src)
                    self.assertTrue(nc_flat.is_contiguous())

        scalar = torch.tensor(123)
        flat0 = scalar.ravel()
        one = torch.tensor([123])
        flat1 = scalar.ravel()
        stepped = torch.ones(10)[::2]
        flat2 = stepped.ravel()
        self.assertEqual(scalar.shape, torch.Size([]))
        self.assertEqual(flat0.shape, torch.Size([1]))
        self.assertEqual(one.shape, torch.Size([1]))
        self.assertEqual(flat1.shape, torch.Size([1]))
        self.assertEqual(stepped.shape, torch.Size([5]))
        self.assertEqual(flat2.shape, torch.Size([5]))
        self.assertEqual(flat0, one)
        self.assertEqual(flat0, flat1)
        self.assertEqual(flat0.shape, flat1.shape)
        for f in (flat0, flat1, flat2):
            self.assertTrue(f.is_contiguous())

        check([torch.randn(5, 5, 5, 5)], 625)
        check([torch.randn(0, 2, 3), torch.randn(3, 0, 2)], 0)
        check([torch.randn(5, 5)], 25, True)

    def test_empty_reshape(self, device):
        x = torch.randn(0, 6)
        self.assertEqual((1, 0, 6, 1, 1), x.reshape(1, 0, 6, 1, 1).shape)
        self.assertEqual(x.data_ptr(), x.reshape(1, 0, 6, 1, 1).data_ptr())
        # NumPy's rule: -1 is not inferred next to a 0
        self.assertRaises(RuntimeError, lambda: x.reshape(0, -1))

    def test_expand(self, device):
        small = torch.rand(1, 8, 1)
        row = torch.rand(5)
        template = torch.rand(4, 8, 5)
        target = template.size()
        for t in (small, row):
            self.assertEqual(t.expand_as(template).size(), target)
            self.assertEqual(t.expand(4, 8, 5).size(), target)
            self.assertEqual(t.expand(target).size(), target)
        self.assertEqual(row.expand(1, 5).expand(2, 2, 5), row.repeat(2, 2, 1))
        noncontig = torch.randn(5, 2, 1, 3)[:, 0]
        self.assertFalse(noncontig.is_contiguous())
        self.assertEqual(noncontig.expand(2, 5, 4, 3), noncontig.contiguous().repeat(2, 1, 4, 1))
        expanded = row.expand(1, 1, 5)
        unsqueezed = row.unsqueeze(0).unsqueeze(1)
        self.assertEqual(expanded, unsqueezed)
        self.assertEqual(expanded.stride(), unsqueezed.stride())
        self.assertEqual(small.expand(4, -1, 5), small.expand(4, 8, 5))
        self.assertRaises(RuntimeError, lambda: row.expand(-1, -1))
        self.assertEqual(torch.zeros(0).expand((0,)), torch.zeros(0))

    def test_view_empty(self, device):
        x = torch.randn(0, 6)
        self.assertEqual((1, 0, 6, 1, 1), x.view(1, 0, 6, 1, 1).shape)

    @onlyNativeDeviceTypes
    def test_reshape(self, device):
        x = torch.randn(3, 3)
        self.assertEqual(x.data_ptr(), x.reshape(-1).data_ptr())
        self.assertEqual(x.data_ptr(), x.reshape(1, 9, 1).data_ptr())
        self.assertEqual(torch.reshape(x, (9,)), x.reshape(9))
        self.assertRaises(RuntimeError, lambda: x.reshape(-1, -1))

        y = torch.randn(4, 4, 4)[:, 0, :]
        self.assertNotEqual(y.data_ptr(), y.reshape(-1).data_ptr())
        self.assertEqual(y.contiguous().view(-1), y.reshape(-1))
        self.assertEqual(y.reshape(2, 2, 4).data_ptr(), y.data_ptr())

        s = torch.randn(())
        self.assertEqual(s.data_ptr(), s.reshape(()).data_ptr())
        self.assertEqual(s.reshape(-1).shape, (1,))
        self.assertRaises(RuntimeError, lambda: s.reshape(2))

        empty = torch.tensor([])
        self.assertEqual(empty, empty.reshape(-1))
        self.assertEqual(empty, empty.reshape([0]))
        self.assertEqual(empty.reshape([0, 1]).shape, (0, 1))
        self.assertEqual(empty.reshape([1, -1]).shape, (1, 0))
        self.assertRaises(RuntimeError, lambda: empty.reshape(1))

        x = torch.randn(3, 3)
        self.assertEqual(x.data_ptr(), x.reshape_as(torch.rand(9)).data_ptr())
        self.assertEqual(x.data_ptr(), x.reshape_as(torch.rand(1, 9, 1)).data_ptr())
        self.assertRaises(RuntimeError, lambda: x.reshape_as(torch.rand(10)))

    def test_flatten(self, device):
        scalar = torch.tensor(123)
        flat0 = scalar.flatten()
        one = torch.tensor([123])
        flat1 = scalar.flatten()
        self.assertEqual(scalar.shape, torch.Size([]))
        self.assertEqual(flat0.shape, torch.Size([1]))
        self.assertEqual(one.shape, torch.Size([1]))
        self.assertEqual(flat1.shape, torch.Size([1]))
        self.assertEqual(flat0, one)
        self.assertEqual(flat0, flat1)
        self.assertEqual(flat0.shape, flat1.shape)

        src = torch.randn(5, 5, 5, 5)
        for (start, end), shape in (((0, -1), [625]), ((0, 2), [125, 5]), ((0, 1), [25, 5, 5]),
                                    ((1, 2), [5, 25, 5]), ((2, 3), [5, 5, 25]),
                                    ((-2, -1), [5, 5, 25])):
            flat = src.flatten(start, end)
            self.assertEqual(flat.shape, torch.Size(shape))
            self.assertEqual(src.view(-1), flat.view(-1))
        self.assertEqual(src.flatten(2, 2), src)
        with self.assertRaisesRegex(IndexError, "Dimension out of range"):
            src.flatten(5, 10)
        with self.assertRaisesRegex(RuntimeError, "start_dim cannot come after end_dim"):
            src.flatten(2, 0)

    @onlyCPU
    def test_narrow(self, device):
        x = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
        rows = x.tolist()
        for dim, start, length in ((0, 0, 1), (0, 0, 2), (0, 1, 1), (0, -1, 1), (0, -2, 2),
                                   (0, -3, 3), (-1, -1, 1), (-2, -1, 1)):
            d = dim % 2
            lo = start % 3
            if d == 0:
                want = rows[lo:lo + length]
            else:
                want = [r[lo:lo + length] for r in rows]
            self.assertEqual(x.narrow(dim, start, length), torch.tensor(want))

    @onlyCPU
    def test_narrow_tensor(self, device):
        x = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
        self.assertEqual(x.narrow(0, torch.tensor(0), 1), torch.tensor([[0, 1, 2]]))
        for bad in (torch.tensor(0.), torch.tensor([0]), torch.tensor([0, 1])):
            with self.assertRaises(Exception):
                x.narrow(0, bad, 1)

    @onlyCPU
    def test_t(self, device):
        x = torch.randn(())
        self.assertEqual(x, x.t())
        x = torch.arange(4)
        self.assertEqual(x, x.t())
        x = torch.rand((2, 2))
        self.assertEqual(x.t(), x.transpose(0, 1))
        x = torch.rand((2, 2, 2))
        with self.assertRaisesRegex(RuntimeError, 'expects a tensor with <= 2 dimensions, but self is 3D'):
            x.t()

    def _check_pieces(self, tensor, pieces, dim, sizes):
        start = 0
        self.assertEqual(len(pieces), len(sizes))
        for size, piece in zip(sizes, pieces):
            self.assertEqual(piece.size(), size)
            self.assertEqual(tensor.narrow(dim, start, size[dim]), piece, atol=0, rtol=0)
            start += size[dim]

    @onlyCPU
    def test_split(self, device):
        t = torch.rand(7, 4)
        self._check_pieces(t, t.split(3, 0), 0, ([3, 4], [3, 4], [1, 4]))
        t = torch.randn(20, 10)
        self._check_pieces(t, t.split([5, 5, 10], 0), 0, ([5, 10], [5, 10], [10, 10]))
        self._check_pieces(t, t.split([2, 2, 6], 1), 1, ([20, 2], [20, 2], [20, 6]))

    @onlyCPU
    def test_chunk(self, device):
        t = torch.rand(4, 7)
        self._check_pieces(t, t.chunk(3, 1), 1, ([4, 3], [4, 3], [4, 1]))
        for n in (0, -2):
            with self.assertRaisesRegex(RuntimeError, 'chunk expects.*greater than 0'):
                t.chunk(n)

    @onlyCPU
    def test_unsqueeze(self, device):
        x = torch.randn(2, 3, 4)
        self.assertEqual(x.unsqueeze(1), x.view(2, 1, 3, 4))
        self.assertEqual(x.clone().unsqueeze_(2), x.view(2, 3, 1, 4))
        x = x[:, 1]
        self.assertFalse(x.is_contiguous())
        self.assertEqual(x.unsqueeze(1), x.contiguous().view(2, 1, 4))
        self.assertEqual(x.clone().unsqueeze_(2), x.contiguous().view(2, 4, 1))

    def test_big_transpose(self, device):
        t = torch.rand(456, 789)
        self.assertEqual(t.t().contiguous(), torch.from_numpy(t.numpy().transpose()))

    def test_T(self, device):
        a = torch.randn(2, 3, 4)
        self.assertEqual(a.permute(2, 1, 0), a.T)
        b = torch.randn(10)
        self.assertEqual(b, b.T)
        s = torch.tensor(5)
        self.assertEqual(s, s.T)

    @dtypes(*ALL)
    def test_transposes(self, device, dtype):
        for attr in ("T", "H", "mT", "mH", "adjoint"):
            batched = attr[0] == "m" or attr == "adjoint"
            for shape in (((), (2, 3), (2, 3, 4)) if batched else ((), (2, 3))):
                a = make_tensor(shape, dtype=dtype)
                got = getattr(a, attr)
                if attr == "adjoint":
                    got = got()
                want = a.transpose(-2, -1) if a.ndim != 0 else a   # real: no conj
                self.assertEqual(want, got)

    @dtypes(*ALL)
    def test_transposes_errors(self, device, dtype):
        for attr in ("H", "mT", "mH", "adjoint"):
            for shape in (((2,), (2, 3, 4)) if attr == "H" else ((2,),)):
                a = make_tensor(shape, dtype=dtype)
                with self.assertRaisesRegex(RuntimeError, "only supported on matrices"):
                    got = getattr(a, attr)
                    if attr == "adjoint":
                        got()

    def test_python_types(self, device):
        self.assertEqual(torch.randn((1, 2), dtype=torch.float64).dtype,
                         torch.randn((1, 2), dtype=float).dtype)
        self.assertEqual(torch.arange(10, 20, dtype=torch.int64).dtype,
                         torch.arange(10, 20, dtype=int).dtype)
        self.assertEqual(torch.tensor([True, False], dtype=torch.bool).dtype,
                         torch.tensor([True, False], dtype=bool).dtype)

    def test_resize_as_preserves_strides(self, device):
        x = torch.empty(2, 3).t()
        before = x.stride()
        x.resize_as_(x)
        self.assertEqual(x.stride(), before)

    def test_memory_format_resize_as(self, device):
        for shape, fmt in (((10, 3, 32, 32), torch.channels_last),
                           ((3, 10, 3, 32, 32), torch.channels_last_3d)):
            xc = torch.randn(shape).contiguous(memory_format=fmt)
            flat = torch.randn(xc.numel())
            flat.resize_as_(xc, memory_format=torch.preserve_format)
            self.assertTrue(flat.is_contiguous(memory_format=fmt))

    def test_memory_format_resize_(self, device):
        for shape, fmt in (((10, 3, 32, 32), torch.channels_last),
                           ((3, 10, 3, 32, 32), torch.channels_last_3d)):
            n = 1
            for s in shape:
                n *= s
            flat = torch.randn(n)
            flat.resize_(shape, memory_format=fmt)
            self.assertTrue(flat.is_contiguous(memory_format=fmt))

    @onlyNativeDeviceTypes
    @dtypes(torch.int64, torch.float)
    def test_transpose_invalid(self, device, dtype):
        for fn in (torch.swapdims, torch.swapaxes, torch.transpose):
            x = _random_input(_rand_shape(4, 5, 10), dtype)
            with self.assertRaisesRegex(IndexError, "Dimension out of range"):
                fn(x, 5, 0)
            with self.assertRaisesRegex(IndexError, "Dimension out of range"):
                fn(x, 0, 5)

    @dtypes(torch.int64, torch.float)
    def test_transpose_vs_numpy(self, device, dtype):
        for fn, names in ((torch.swapdims, ("dim0", "dim1")), (torch.swapaxes, ("axis0", "axis1")),
                          (torch.transpose, ("dim0", "dim1"))):
            for nd in range(5):
                x = _random_input(_rand_shape(nd, 5, 10), dtype)
                for negative in (True, False):
                    for a, b in permutations(range(nd), r=2):
                        p = random.random()
                        if negative and p > 0.66:
                            a -= nd
                        elif negative and p > 0.33:
                            b -= nd
                        elif negative:
                            a, b = a - nd, b - nd
                        self.compare_with_numpy(partial(fn, **{names[0]: a, names[1]: b}),
                                                partial(np.swapaxes, axis1=a, axis2=b), x)
            x = torch.randn(2, 3, 5, 7, 11)
            self.compare_with_numpy(partial(fn, **{names[0]: 0, names[1]: 0}),
                                    partial(np.swapaxes, axis1=0, axis2=0), x)

    def _check_atleast(self, fn, np_fn, dtype):
        for ndims in range(0, 5):
            shape = _rand_shape(ndims, 5, 10)
            for n in range(ndims + 1):
                for transposed in (False, True):
                    x = _random_input(shape, dtype)
                    if transposed:
                        x = x.T
                    self.compare_with_numpy(fn, np_fn, x)
                    many = (x,) * random.randint(3, 10)
                    got = fn(*many)
                    want = np_fn(*(np.array(t.numpy()) for t in many))
                    self.assertEqual(tuple(torch.from_numpy(w) for w in want), tuple(got))

    @dtypes(*NUMERIC)
    def test_atleast(self, device, dtype):
        self._check_atleast(torch.atleast_1d, np.atleast_1d, dtype)
        self._check_atleast(torch.atleast_2d, np.atleast_2d, dtype)
        self._check_atleast(torch.atleast_3d, np.atleast_3d, dtype)

    def test_atleast_gradient(self, device):
        gc, ggc = torch.autograd.gradcheck, torch.autograd.gradgradcheck
        for fn in (torch.atleast_1d, torch.atleast_2d, torch.atleast_3d):
            s = torch.tensor(0.5, dtype=torch.double, requires_grad=True)
            a = torch.rand(4, dtype=torch.double, requires_grad=True)
            for inp in (s, a):
                self.assertTrue(gc(lambda x: fn(x), inp))
                self.assertTrue(ggc(lambda x: fn(x), inp))
            b = torch.rand(4, 3, dtype=torch.double, requires_grad=True)
            c = torch.rand(4, 3, 2, dtype=torch.double, requires_grad=True)
            d = torch.rand(4, 3, 2, 1, dtype=torch.double, requires_grad=True)
            inputs = (s, a, b, c, d)
            self.assertTrue(gc(lambda *xs: fn(*xs), inputs))
            self.assertTrue(ggc(lambda *xs: fn(*xs), inputs))

    @onlyCPU
    @dtypes(torch.float)
    def test_broadcast_tensors(self, device, dtype):
        xs = (torch.randn(2, 1, 3, dtype=dtype), torch.randn(3, dtype=dtype),
              torch.randn(3, 1, dtype=dtype))
        for y in torch.broadcast_tensors(*xs):
            self.assertTrue(y.size() == (2, 3, 3))

    @onlyCPU
    def test_broadcast_shapes(self, device):
        examples = [(), (1,), (2,), (1, 1), (3, 1), (3, 2), (4, 1, 1), (4, 3, 2)]
        for s0 in examples:
            x0 = torch.randn(s0)
            self.assertEqual(torch.broadcast_tensors(x0)[0].shape, torch.broadcast_shapes(s0))
            for s1 in examples:
                x1 = torch.randn(s1)
                self.assertEqual(torch.broadcast_tensors(x0, x1)[0].shape,
                                 torch.broadcast_shapes(s0, s1))
        for ints in ([1, 4], [4, 1], [1, 1, 3]):
            self.assertEqual(torch.broadcast_shapes(*ints),
                             torch.broadcast_tensors(*map(torch.empty, ints))[0].shape)
        for ints in ([1, 1, -12], [-1, 1], [-11]):
            with self.assertRaisesRegex(ValueError, "Attempting to broadcast a dimension with negative length!"):
                torch.broadcast_shapes(*ints)
        for bad in ((3, 5), (2, 4, 1)):
            with self.assertRaisesRegex(RuntimeError, ".*expected shape should be broadcastable to*"):
                torch.broadcast_shapes(*bad)
        negative = [(-1,), (1, -12), (4, -11), (-4, 1), (1, 1, -2)]
        for s0 in negative:
            with self.assertRaisesRegex(ValueError, "Attempting to broadcast a dimension with negative length!"):
                torch.broadcast_shapes(s0)
            for s1 in negative:
                with self.assertRaisesRegex(ValueError, "Attempting to broadcast a dimension with negative length!"):
                    torch.broadcast_shapes(s0, s1)
        for f in (1.1, 2.0, 1.0):
            with self.assertRaisesRegex(RuntimeError,
                                        "Input shapes should be of type ints, a tuple of ints, or a list of ints"):
                torch.broadcast_shapes(f)
        for mixed in ((1, (5,)), (3, (1,)), (1, (3, 4))):
            self.assertEqual(torch.broadcast_shapes(*mixed),
                             torch.broadcast_tensors(*map(torch.empty, mixed))[0].shape)

    @dtypes(*ALL)
    def test_broadcast_to(self, device, dtype):
        def can_broadcast(s0, s1):
            return all(a == 1 or a == b for a, b in zip(reversed(s0), reversed(s1)))

        sizes = ((), (1,), (2,), (1, 1), (3, 1), (3, 2), (4, 1, 1), (4, 3, 2))
        for s0, s1 in combinations(sizes, r=2):
            t = make_tensor(s0, dtype=dtype, low=-9, high=9)
            if can_broadcast(s0, s1):
                self.assertEqual(torch.broadcast_to(t, s1), np.broadcast_to(t.numpy(), s1))
            else:
                with self.assertRaisesRegex(RuntimeError, r"The expanded size of the tensor \(\d\) "
                                                          r"must match the existing size \(\d\)"):
                    torch.broadcast_to(t, s1)

    def test_view(self, device):
        tensor = torch.rand(15)
        template = torch.rand(3, 5)
        empty = torch.empty(0)
        target = template.size()
        self.assertEqual(tensor.view_as(template).size(), target)
        self.assertEqual(tensor.view(3, 5).size(), target)
        self.assertEqual(tensor.view(torch.Size([3, 5])).size(), target)
        self.assertEqual(tensor.view(-1, 5).size(), target)
        self.assertEqual(tensor.view(3, -1).size(), target)
        tensor.view(5, 3).fill_(random.uniform(0, 1))
        self.assertEqual(empty.view_as(empty), empty)
        self.assertEqual(empty.view(0), empty)
        self.assertEqual(empty.view(0, 3, 0, 1).size(), torch.Size([0, 3, 0, 1]))
        self.assertEqual(empty.view(0, 3, 0, 1).view(0), empty)
        self.assertEqual(empty.view(-1).size(), torch.Size([0]))
        self.assertEqual(empty.view(10, 3, -1).size(), torch.Size([10, 3, 0]))
        for shape in ((-1, 0), (3, 0, -1, 0)):
            with self.assertRaisesRegex(RuntimeError, r"because the unspecified dimension size -1 can be any value"):
                empty.view(*shape)
        for shape in ((15, 0), (7, -1), (15, -1, -1)):
            self.assertRaises(RuntimeError, lambda: tensor.view(*shape))

        # not contiguous overall, but each group of dims the view touches is
        tensor = torch.rand(4, 2, 5, 1, 6, 2, 9, 3).transpose(-1, 2).transpose(-2, 3)
        contig = tensor.clone()
        for shape in ([8, 1, 3, 3, 3, 4, 1, 3, 5], [2, 4, 3, 1, 9, 2, 2, 3, 5, 1],
                      [1, 1, 2, 1, 4, 3, 1, 1, 9, 1, 2, 1, 2, 3, 1, 5, 1, 1]):
            self.assertEqual(tensor.view(*shape), contig.view(*shape))
        for shape in ((-1,), (24, 9, 6, 2, 1, 5), (8, 3, 9, 6, 10), (8, 3, 54, 2, 1, 5)):
            self.assertRaises(RuntimeError, lambda: tensor.view(*shape))

        tensor = torch.empty(1, 1).expand(3, 4)   # stride 0: every dim chains
        contig = tensor.clone()
        for shape in ((-1,), (1, -1, 1), (-1, 1), (6, 2, 1), (1, 6, 2, 1)):
            self.assertEqual(tensor.view(*shape), contig.view(*shape))

    @dtypes(*ALL)
    def test_reshape_view_semantics(self, device, dtype):
        tensor = make_tensor((15, 4), dtype=dtype)
        view = tensor.reshape((20, 3))
        self.assertEqual(view.size(), (20, 3))
        self.assertEqual(tensor.storage().data_ptr(), view.storage().data_ptr())
        copy = tensor.transpose(0, 1).reshape((20, 3))
        self.assertEqual(copy.size(), (20, 3))
        self.assertNotEqual(tensor.storage().data_ptr(), copy.storage().data_ptr())

    def test_contiguous(self, device):
        x = torch.randn(1, 16, 5, 5)
        self.assertTrue(x.is_contiguous())
        stride = list(x.stride())
        stride[0] = 20     # a size-1 dim's stride does not matter
        x.set_(x.storage(), 0, x.size(), stride)
        self.assertTrue(x.is_contiguous())

    _SPLIT_SIZES = [(0,), (10,), (10, 0), (0, 10), (4, 10), (12, 3)]

    def _split_inputs(self, dtype):
        for size in self._SPLIT_SIZES:
            base = make_tensor(size, dtype=dtype, low=-9, high=9)
            for a in ([base, base.t()] if base.dim() > 2 else [base]):
                yield size, a

    def _check_split_like_numpy(self, a, arg, dim, dtype, msg):
        r1 = torch.tensor_split(a, arg, dim)
        r2 = torch.tensor_split(a, torch.tensor(arg, dtype=torch.int64), dim)
        for x, y in zip(r1, r2):
            self.assertEqual(x.device, torch.device(device_cpu), msg=msg)
            self.assertEqual(x.dtype, dtype, msg=msg)
            self.assertEqual(y.device, torch.device(device_cpu), msg=msg)
            self.assertEqual(y.dtype, dtype, msg=msg)
        want = np.array_split(a.numpy(), arg, dim)
        self.assertEqual(want, r1, msg=msg)
        self.assertEqual(want, r2, msg=msg)

    @onlyNativeDeviceTypes
    @dtypes(*ALL)
    def test_tensor_split_sections(self, device, dtype):
        for size, a in self._split_inputs(dtype):
            for dim in range(-a.dim(), a.dim()):
                for sections in range(1, 2 * a.size(dim)):
                    self._check_split_like_numpy(a, sections, dim, dtype,
                                                 f"size {size}, sections {sections}, dim {dim}")

    @onlyNativeDeviceTypes
    @dtypes(*ALL)
    def test_tensor_split_indices(self, device, dtype):
        indices_args = [(), (0,), (3,), (10,), (-1,), (-10,), (2, -1), (3, 4, 10),
                        (0, -1, 0, 10), (1, 5, 2, 8)]
        for size, a in self._split_inputs(dtype):
            for dim in range(-a.dim(), a.dim()):
                for indices in indices_args:
                    self._check_split_like_numpy(a, indices, dim, dtype,
                                                 f"size {size}, indices {indices}, dim {dim}")

    @onlyNativeDeviceTypes
    def test_tensor_split_errors(self, device):
        cases = [
            ((10,), 10, 1, IndexError, r'Dimension out of range', IndexError),
            ((), 10, 0, RuntimeError, r'tensor_split expected at least a 1-dimensional tensor, '
             'but got a tensor with 0 dims', IndexError),
            ((10,), (10,), 1, IndexError, r'Dimension out of range', IndexError),
            ((), (10,), 0, RuntimeError, r'tensor_split expected at least a 1-dimensional tensor, '
             'but got a tensor with 0 dims', IndexError),
            ((10,), 0, 0, RuntimeError, r'number of sections must be larger than 0, got 0', ValueError),
            ((10,), -1, 0, RuntimeError, r'number of sections must be larger than 0, got -1', ValueError),
        ]
        for size, arg, dim, err, pattern, np_err in cases:
            a = torch.randn(size)
            with self.assertRaisesRegex(err, pattern):
                torch.tensor_split(a, arg, dim)
            with self.assertRaisesRegex(err, pattern):
                torch.tensor_split(a, torch.tensor(arg), dim)
            with self.assertRaises(np_err):
                np.array_split(a.numpy(), arg, dim)
        with self.assertRaisesRegex(RuntimeError, r'tensor_split expected tensor_indices_or_sections '
                                                  r'to have dtype of long, but got Float'):
            torch.tensor_split(a, torch.tensor(1.1), dim)
        with self.assertRaisesRegex(RuntimeError, r'tensor_split expected tensor_indices_or_sections to be a'
                                    ' zero-dimensional or one-dimensional tensor, but got a tensor with 2 dims'):
            torch.tensor_split(torch.rand(10), torch.tensor(((1,),)), 0)

    def test_resize_all_dtypes_and_devices(self, device):
        for dt in ALL:
            x = torch.tensor([[1, 2], [3, 4], [5, 6]], dtype=dt)
            x.resize_((2, 2))
            self.assertEqual((2, 2), x.shape)

    def test_resize_as_all_dtypes_and_devices(self, device):
        for dt in ALL:
            x = torch.tensor([[1, 2], [3, 4], [5, 6]], dtype=dt)
            y = torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=dt)
            x.resize_as_(y)
            self.assertEqual(y.shape, x.shape)

    @onlyNativeDeviceTypes
    def test_resize_overflow(self, device):
        x = torch.empty((), dtype=torch.float64)
        with self.assertRaisesRegex(RuntimeError, 'Storage size calculation overflowed'):
            x.resize_([2, 4, 2**29, 2**29])
        with self.assertRaisesRegex(RuntimeError, 'overflow'):
            x.resize_([8, 8, 2**29, 2**29])

    def test_view_all_dtypes_and_devices(self, device):
        for dt in ALL:
            x = torch.tensor([[1, 2], [3, 4], [5, 6]], dtype=dt)
            self.assertEqual(x.view(6).shape, [6])


device_cpu = "cpu"

# name (or name_cpu_<dtype>) -> why it fails: a deliberate difference or what is missing.
XFAIL_VIEW = {
    "test_as_strided_gradients": "missing: strided.autograd.gradgradcheck (second derivatives; "
                                 "gradcheck passes)",
}
XFAIL_OLD = {
    "test_atleast_gradient": "missing: strided.autograd.gradgradcheck (second derivatives; "
                             "gradcheck passes)",
    "test_memory_format_resize_": "missing: memory formats (strided.channels_last, "
                                  "resize_(memory_format=), is_contiguous(memory_format=))",
    "test_memory_format_resize_as": "missing: memory formats (strided.channels_last, "
                                    "contiguous(memory_format=), resize_as_(memory_format=))",
}

instantiate_device_type_tests(TestViewOps, globals(), xfails=XFAIL_VIEW)
instantiate_device_type_tests(TestOldViewOps, globals(), xfails=XFAIL_OLD)
