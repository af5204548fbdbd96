"""Triton kernels for the batched engine's convolutions (`--kernels triton`): implicit GEMM over M networks.

Each program computes one tile of one network's output (output pixels x output channels) straight from the
input images: a patch value is loaded where the reduction needs it, so the patches are never copied (the unfold
path materialises them, ~2.9 GB per network-epoch for the seed's first conv). The epilogue adds the bias, applies
tanh and averages 2x2 pools in registers. The first conv reads each network's own minibatch through an index
array [M, b] into the dataset, so no gathered copy of the batch is made either. The weight gradient is one
program per (network, tile of its weight) looping over every output pixel in order: no atomics, so it is
bit-reproducible; the input gradient is the same forward kernel on the flipped kernels (stride 1).

Triton is the optional extra `weightspace[triton]`. On a CPU the kernels run under `TRITON_INTERPRET=1`
(float32; its bf16 `tl.dot` is wrong), which is how tests/train/test_triton_conv.py checks them against torch.
"""

from __future__ import annotations

import torch

from weightspace.errors import WeightspaceError

try:
    import triton
    import triton.language as tl
except ImportError:  # the optional extra
    triton = None


def _require() -> None:
    if triton is None:
        raise WeightspaceError("--kernels triton needs Triton: pip install 'weightspace[triton]'")


if triton is not None:

    @triton.jit
    def _tanh(z):
        t = tl.exp(-2.0 * tl.abs(z))  # stable for large |z|
        y = (1.0 - t) / (1.0 + t)
        return tl.where(z >= 0, y, -y)

    @triton.jit
    def _patches(x_ptr, idx_ptr, m, b, oy, ox, rows_ok, r, B, C, H, W, xs_m, xs_b, xs_c, xs_h, xs_w,
                 K: tl.constexpr, PAD: tl.constexpr, HAS_INDEX: tl.constexpr):  # fmt: skip
        """[rows, r] patch values: row (b, oy, ox) of network m, column r = (c, ky, kx) of its kernel."""
        c, kk = r // (K * K), r % (K * K)
        iy = oy[:, None] + (kk // K)[None, :] - PAD
        ix = ox[:, None] + (kk % K)[None, :] - PAD
        if HAS_INDEX:  # the first conv: image index[m, b] of the dataset
            row = tl.load(idx_ptr + m * B + b, mask=rows_ok, other=0).to(tl.int64)
            base = row * xs_b
        else:
            base = m * xs_m + b.to(tl.int64) * xs_b
        ok = rows_ok[:, None] & (r < C * K * K)[None, :] & (iy >= 0) & (iy < H) & (ix >= 0) & (ix < W)
        return tl.load(x_ptr + base[:, None] + c[None, :] * xs_c + iy * xs_h + ix * xs_w, mask=ok, other=0.0)

    @triton.jit
    def _conv_forward(x_ptr, idx_ptr, w_ptr, bias_ptr, out_ptr, act_ptr,
                      B, C, H, W, CO, PH, PW,
                      xs_m, xs_b, xs_c, xs_h, xs_w, os_m, os_b, os_c, os_h, os_w, as_m, as_b, as_c, as_h, as_w,
                      K: tl.constexpr, PAD: tl.constexpr, HAS_INDEX: tl.constexpr, HAS_BIAS: tl.constexpr,
                      TANH: tl.constexpr, S: tl.constexpr, SAVE_ACT: tl.constexpr,
                      BLOCK_P: tl.constexpr, BLOCK_O: tl.constexpr, BLOCK_R: tl.constexpr,
                      PRECISION: tl.constexpr):  # fmt: skip
        m, pid_p, pid_o = tl.program_id(0), tl.program_id(1), tl.program_id(2)
        R = C * K * K
        p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)  # output pixels (pooled, if POOL) over the minibatch
        o = pid_o * BLOCK_O + tl.arange(0, BLOCK_O)
        rows_ok, o_ok = p < B * PH * PW, o < CO
        b, q = p // (PH * PW), p % (PH * PW)
        py, px = q // PW, q % PW
        if HAS_BIAS:
            bias = tl.load(bias_ptr + m * CO + o, mask=o_ok, other=0.0).to(tl.float32)
        total = tl.zeros((BLOCK_P, BLOCK_O), dtype=tl.float32)
        for sub in tl.static_range(S * S):  # the conv outputs one pooled output averages (S = 2: a 2x2 pool)
            oy, ox = py * S + sub // S, px * S + sub % S
            acc = tl.zeros((BLOCK_P, BLOCK_O), dtype=tl.float32)
            for r0 in range(0, R, BLOCK_R):
                r = r0 + tl.arange(0, BLOCK_R)
                a = _patches(x_ptr, idx_ptr, m, b, oy, ox, rows_ok, r, B, C, H, W, xs_m, xs_b, xs_c, xs_h, xs_w,
                             K, PAD, HAS_INDEX)  # fmt: skip
                wt = tl.load(w_ptr + m * CO * R + o[None, :] * R + r[:, None],
                             mask=(r < R)[:, None] & o_ok[None, :], other=0.0)  # fmt: skip
                acc += tl.dot(a, wt, input_precision=PRECISION)
            if HAS_BIAS:
                acc += bias[None, :]
            if TANH:
                acc = _tanh(acc)
            if SAVE_ACT:  # what the backward pass differentiates tanh and the pool through
                at = act_ptr + m * as_m + b[:, None] * as_b + o[None, :] * as_c + (oy * as_h + ox * as_w)[:, None]
                tl.store(at, acc.to(act_ptr.dtype.element_ty), mask=rows_ok[:, None] & o_ok[None, :])
            total += acc
        if S == 2:
            total = total * 0.25
        at = out_ptr + m * os_m + b[:, None] * os_b + o[None, :] * os_c + (py * os_h + px * os_w)[:, None]
        tl.store(at, total.to(out_ptr.dtype.element_ty), mask=rows_ok[:, None] & o_ok[None, :])

    @triton.jit
    def _conv_weight_grad(x_ptr, idx_ptr, g_ptr, dw_ptr, B, C, H, W, CO, OH, OW,
                          xs_m, xs_b, xs_c, xs_h, xs_w, gs_m, gs_b, gs_c, gs_h, gs_w,
                          K: tl.constexpr, PAD: tl.constexpr, HAS_INDEX: tl.constexpr,
                          BLOCK_P: tl.constexpr, BLOCK_O: tl.constexpr, BLOCK_R: tl.constexpr,
                          PRECISION: tl.constexpr):  # fmt: skip
        m, pid_o, pid_r = tl.program_id(0), tl.program_id(1), tl.program_id(2)
        R = C * K * K
        o = pid_o * BLOCK_O + tl.arange(0, BLOCK_O)
        r = pid_r * BLOCK_R + tl.arange(0, BLOCK_R)
        o_ok = o < CO
        acc = tl.zeros((BLOCK_O, BLOCK_R), dtype=tl.float32)
        for p0 in range(0, B * OH * OW, BLOCK_P):  # every output pixel, in order: one sum, no atomics
            p = p0 + tl.arange(0, BLOCK_P)
            rows_ok = p < B * OH * OW
            b, q = p // (OH * OW), p % (OH * OW)
            oy, ox = q // OW, q % OW
            a = _patches(x_ptr, idx_ptr, m, b, oy, ox, rows_ok, r, B, C, H, W, xs_m, xs_b, xs_c, xs_h, xs_w,
                         K, PAD, HAS_INDEX)  # fmt: skip
            g = tl.load(g_ptr + m * gs_m + b[:, None] * gs_b + o[None, :] * gs_c + (oy * gs_h + ox * gs_w)[:, None],
                        mask=rows_ok[:, None] & o_ok[None, :], other=0.0)  # fmt: skip
            acc += tl.dot(tl.trans(g), a, input_precision=PRECISION)
        at = dw_ptr + m * CO * R + o[:, None] * R + r[None, :]
        tl.store(at, acc.to(dw_ptr.dtype.element_ty), mask=o_ok[:, None] & (r < R)[None, :])


BLOCKS = {"BLOCK_P": 64, "BLOCK_O": 16, "BLOCK_R": 32}  # tl.dot needs every side >= 16


def _strides5(t: torch.Tensor) -> tuple[int, int, int, int, int]:
    """(network, image, channel, row, column) strides of a [B, M, C, H, W] tensor."""
    s = t.stride()
    return s[1], s[0], s[2], s[3], s[4]


def _forward(x, index, weight, bias, pad, tanh, pool, save_act, precision):
    """out [B, M, O, PH, PW] (and the tanh outputs at conv resolution when `save_act`)."""
    m, o, c, k, _ = weight.shape
    if index is not None:  # x is the dataset [N, C, H, W], index [M, B]
        index = index.contiguous()
        b, (h, w) = index.shape[1], x.shape[2:]
        xs = (0, x.stride(0), x.stride(1), x.stride(2), x.stride(3))
    else:
        b, (h, w) = x.shape[0], x.shape[3:]
        xs = _strides5(x)
    oh, ow = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    ph, pw = (oh // 2, ow // 2) if pool else (oh, ow)
    out = torch.empty(b, m, o, ph, pw, device=x.device, dtype=x.dtype)
    make = torch.zeros if pool and (oh % 2 or ow % 2) else torch.empty  # a pool's dropped edge: zero, not garbage
    act = make(b, m, o, oh, ow, device=x.device, dtype=x.dtype) if save_act else out
    grid = (m, triton.cdiv(b * ph * pw, BLOCKS["BLOCK_P"]), triton.cdiv(o, BLOCKS["BLOCK_O"]))
    _conv_forward[grid](
        x, index if index is not None else x, weight.contiguous(), bias if bias is not None else weight, out, act,
        b, c, h, w, o, ph, pw, *xs, *_strides5(out), *_strides5(act),
        K=k, PAD=pad, HAS_INDEX=index is not None, HAS_BIAS=bias is not None, TANH=tanh, S=2 if pool else 1,
        SAVE_ACT=save_act, PRECISION=precision, **BLOCKS,
    )  # fmt: skip
    return out, (act if save_act else None)


def _weight_grad(x, index, g, weight, pad, precision):
    m, o, c, k, _ = weight.shape
    b, _, _, oh, ow = g.shape
    if index is not None:
        index = index.contiguous()
        h, w = x.shape[2:]
        xs = (0, x.stride(0), x.stride(1), x.stride(2), x.stride(3))
    else:
        h, w = x.shape[3:]
        xs = _strides5(x)
    dw = torch.empty(weight.shape, device=weight.device, dtype=torch.float32)
    grid = (m, triton.cdiv(o, BLOCKS["BLOCK_O"]), triton.cdiv(c * k * k, BLOCKS["BLOCK_R"]))
    _conv_weight_grad[grid](
        x, index if index is not None else x, g, dw, b, c, h, w, o, oh, ow, *xs, *_strides5(g),
        K=k, PAD=pad, HAS_INDEX=index is not None, PRECISION=precision, **BLOCKS,
    )  # fmt: skip
    return dw.to(weight.dtype)


class _StackedConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, index, weight, bias, pad, tanh, pool, precision):
        train = torch.is_grad_enabled() or any(t is not None and t.requires_grad for t in (x, weight, bias))
        save = train and (tanh or pool)
        # half-precision images (--fast-gpu holds them in bf16): the kernels multiply in that precision and
        # accumulate in float32, as autocast would; the weights stay float32 for Adam
        out, act = _forward(x, index, weight.to(x.dtype), bias, pad, tanh, pool, save, precision)
        ctx.save_for_backward(x, index, weight, act)
        ctx.options = (pad, tanh, pool, precision, bias is not None)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, index, weight, act = ctx.saved_tensors
        pad, tanh, pool, precision, has_bias = ctx.options
        g = grad
        if pool:  # each of the four conv outputs gets a quarter; a dropped edge gets nothing
            g = g.repeat_interleave(2, 3).repeat_interleave(2, 4) * 0.25
            g = torch.nn.functional.pad(g, (0, act.shape[4] - g.shape[4], 0, act.shape[3] - g.shape[3]))
        if tanh:
            g = g * (1 - act.float() * act.float()).to(g.dtype)
        g = g.to(x.dtype).contiguous()
        grad_w = _weight_grad(x, index, g, weight, pad, precision) if ctx.needs_input_grad[2] else None
        grad_b = g.float().sum((0, 3, 4)) if has_bias and ctx.needs_input_grad[3] else None
        grad_x = None
        if index is None and ctx.needs_input_grad[0]:  # stride 1: a conv of g with the flipped kernels
            k = weight.shape[-1]
            flipped = weight.flip(3, 4).transpose(1, 2).to(g.dtype).contiguous()
            grad_x, _ = _forward(g, None, flipped, None, k - 1 - pad, False, False, False, precision)
        return grad_x, None, grad_w, grad_b, None, None, None, None


def stacked_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    padding: int,
    tanh: bool = False,
    pool: bool = False,
    index: torch.Tensor | None = None,
    precision: str = "ieee",
) -> torch.Tensor:
    """M stride-1 convs at once, each network with its own kernels: x [B, M, C, H, W] (or, with `index` [M, B],
    the dataset [N, C, H, W], network m reading images index[m]), weight [M, O, C, k, k], bias [M, O] ->
    [B, M, O, H', W'], with tanh and a 2x2 average pool fused when asked. Differentiable in x, weight and bias.
    `precision` is tl.dot's: "ieee" (exact float32) or "tf32"."""
    _require()
    if weight.shape[-1] != weight.shape[-2]:
        raise WeightspaceError("the Triton conv takes square kernels")
    if index is not None and (index.dim() != 2 or index.shape[0] != weight.shape[0]):
        raise WeightspaceError(f"index must be [M={weight.shape[0]}, B], not {list(index.shape)}")
    return _StackedConv.apply(x, index, weight, bias, int(padding), tanh, pool, precision)
