"""The Triton implicit-GEMM convs against torch, on a CPU through Triton's interpreter (float32)."""

import importlib.util
import os

import pytest
import torch
import torch.nn.functional as F

from weightspace.errors import WeightspaceError
from weightspace.nets import Activation, ArchSpec, Conv2d, Flatten, Linear, NetBatch, Pool2d, as_graph, init_net
from weightspace.train import StackedModel, Training, fit_stacked

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # read when Triton is imported: must come first
pytest.importorskip("triton")  # the optional extra; absent, these kernels are not there to test
from weightspace.train import triton_conv  # noqa: E402

M, B = 2, 3


def reference(x, w, b, pad, tanh, pool):
    """Network by network, with torch's own ops: [B, M, O, H', W']."""
    outs = []
    for m in range(w.shape[0]):
        y = F.conv2d(x[:, m], w[m], None if b is None else b[m], padding=pad)
        y = torch.tanh(y) if tanh else y
        outs.append(F.avg_pool2d(y, 2) if pool else y)
    return torch.stack(outs, 1)


CASES = [  # (channels in, size, channels out, kernel, padding, bias, tanh, pool)
    (2, 8, 3, 3, 1, True, False, False),
    (2, 8, 3, 3, 1, True, True, False),
    (2, 8, 3, 3, 1, True, True, True),
    (3, 9, 4, 5, 0, False, True, True),  # odd output: the pool drops an edge
    (1, 7, 17, 5, 2, True, True, True),  # more output channels than one tile
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "c{}-s{}-o{}-k{}-p{}-b{}-t{}-pool{}".format(*c))
def test_the_fused_conv_and_its_gradients_equal_torch(case):
    c, size, o, k, pad, has_bias, tanh, pool = case
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, M, c, size, size, generator=g, requires_grad=True)
    w = (torch.randn(M, o, c, k, k, generator=g) * 0.3).requires_grad_()
    b = torch.randn(M, o, generator=g).requires_grad_() if has_bias else None
    out = triton_conv.stacked_conv(x, w, b, pad, tanh, pool)
    want = reference(x, w, b, pad, tanh, pool)
    assert out.shape == want.shape
    torch.testing.assert_close(out, want, atol=1e-5, rtol=1e-5)
    grad = torch.randn(want.shape, generator=g)
    inputs = [t for t in (x, w, b) if t is not None]
    for mine, theirs in zip(torch.autograd.grad(out, inputs, grad), torch.autograd.grad(want, inputs, grad)):
        torch.testing.assert_close(mine, theirs, atol=1e-4, rtol=1e-4)


def test_the_first_conv_reads_each_networks_batch_through_the_index():
    g = torch.Generator().manual_seed(1)
    data = torch.randn(10, 2, 8, 8, generator=g)
    index = torch.randint(0, 10, (M, B), generator=g)
    w = torch.randn(M, 3, 2, 3, 3, generator=g).requires_grad_()
    b = torch.randn(M, 3, generator=g).requires_grad_()
    out = triton_conv.stacked_conv(data, w, b, 1, True, True, index=index)
    want = reference(data[index].transpose(0, 1), w, b, 1, True, True)
    torch.testing.assert_close(out, want, atol=1e-5, rtol=1e-5)
    grad = torch.randn(want.shape, generator=g)
    for mine, theirs in zip(torch.autograd.grad(out, (w, b), grad), torch.autograd.grad(want, (w, b), grad)):
        torch.testing.assert_close(mine, theirs, atol=1e-4, rtol=1e-4)
    with pytest.raises(WeightspaceError, match=r"index must be \[M=2, B\]"):
        triton_conv.stacked_conv(data, w, b, 1, index=index[0])


def test_half_precision_images_train_float32_weights():
    """--fast-gpu holds images in bf16; the interpreter multiplies float16 right (its bf16 dot is wrong)."""
    g = torch.Generator().manual_seed(4)
    x = torch.randn(B, M, 2, 8, 8, generator=g)
    w = (torch.randn(M, 3, 2, 3, 3, generator=g) * 0.3).requires_grad_()
    b = torch.randn(M, 3, generator=g).requires_grad_()
    out = triton_conv.stacked_conv(x.half().requires_grad_(), w, b, 1, True, True)
    want = reference(x, w, b, 1, True, True)
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), want, atol=1e-2, rtol=1e-2)
    grad = torch.randn(want.shape, generator=g)
    mine = torch.autograd.grad(out, (w, b), grad.half())
    assert mine[0].dtype == torch.float32
    for a, theirs in zip(mine, torch.autograd.grad(want, (w, b), grad)):
        torch.testing.assert_close(a.float(), theirs, atol=5e-2, rtol=5e-2)


def test_the_weight_gradient_is_the_same_bits_every_time():
    """One program per weight tile sums every pixel in order: no atomics, so no run-to-run drift."""
    g = torch.Generator().manual_seed(2)
    x = torch.randn(B, M, 2, 8, 8, generator=g)
    w = torch.randn(M, 3, 2, 3, 3, generator=g).requires_grad_()
    grad = torch.randn(B, M, 3, 4, 4, generator=g)
    first, second = (torch.autograd.grad(triton_conv.stacked_conv(x, w, None, 1, True, True), w, grad)[0] for _ in "ab")
    assert torch.equal(first, second)


def tiny_lenet() -> ArchSpec:
    """The seed's LeNet-5 shape in small: conv-tanh-pool twice, a plain conv, then dense layers."""
    return ArchSpec(
        input_shape=(1, 14, 14),
        layers=[
            Conv2d(out_channels=3, kernel_size=3, padding="same"), Activation(fn="tanh"), Pool2d(),
            Conv2d(out_channels=4, kernel_size=3), Activation(fn="tanh"), Pool2d(),
            Conv2d(out_channels=5, kernel_size=2), Activation(fn="relu"),  # an even kernel: not fused
            Flatten(), Linear(out_features=6), Activation(fn="tanh"), Linear(out_features=1),
        ],
    )  # fmt: skip


def test_the_engine_with_triton_kernels_trains_the_networks_torch_trains():
    spec = tiny_lenet()
    nets = NetBatch.of([init_net(spec, i, "glorot_uniform") for i in range(M)])
    g = torch.Generator().manual_seed(3)
    data, y = torch.rand(16, *spec.input_shape, generator=g), torch.randint(0, 2, (M, 16), generator=g)
    torch_model, fused = StackedModel(spec, compile=False), StackedModel(spec, compile=False, kernels="triton")
    assert fused.reads_index
    x, index = data[:B], torch.randint(0, 16, (M, B), generator=g)
    close = {"atol": 1e-5, "rtol": 1e-5}
    shared = torch_model.forward(nets.params, x, shared_input=True)
    torch.testing.assert_close(fused.forward(nets.params, x[None].expand(M, -1, -1, -1, -1)), shared, **close)
    torch.testing.assert_close(
        fused.forward(nets.params, data, index=index), torch_model.forward(nets.params, data[index]), **close
    )
    training = Training(epochs=1, batch_size=8, lr=1e-2)
    plain = fit_stacked(nets, data, y, data[:4], y[:, :4], training, [1, 2], group=M)
    triton = fit_stacked(nets, data, y, data[:4], y[:, :4], training, [1, 2], group=M, kernels="triton")
    for k, v in plain.checkpoints[1].params.items():
        torch.testing.assert_close(triton.checkpoints[1].params[k], v, atol=1e-5, rtol=1e-4)
    assert (plain.checkpoints[1].params["0.weight"] - nets.params["0.weight"]).abs().max() > 1e-3  # it trained


def test_a_zoo_made_with_triton_kernels_holds_the_networks_torch_makes(tmp_path, tiny_config):
    from weightspace.zoo import generate

    plain = generate(tiny_config, tmp_path / "plain").batch()
    fused = generate(tiny_config, tmp_path / "triton", kernels="triton").batch()
    for k, v in plain.params.items():
        torch.testing.assert_close(fused.params[k], v, atol=1e-5, rtol=1e-4)


def test_kernels_that_cannot_run_say_so():
    with pytest.raises(WeightspaceError, match="kernels must be one of grouped, unfold, inductor, triton"):
        StackedModel(tiny_lenet(), kernels="cudnn")
    nets = NetBatch.of([init_net(as_graph(tiny_lenet()), 0)])
    x, y = torch.rand(4, 1, 14, 14), torch.zeros(1, 4, dtype=torch.long)
    with pytest.raises(WeightspaceError, match="--kernels triton runs chains"):
        fit_stacked(nets, x, y, x, y, Training(epochs=1), [0], kernels="triton")


def test_without_triton_the_kernels_ask_for_the_extra(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "triton" else find_spec(name, *a))
    with pytest.raises(WeightspaceError, match=r"pip install 'weightspace\[triton\]'"):
        StackedModel(tiny_lenet(), kernels="triton")
