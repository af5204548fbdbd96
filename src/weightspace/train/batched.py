"""The batched engine: train M networks of one spec at once (a chain here, a graph in graph_engine.py).

Parameters are stacked along a leading model axis (the `torch.func.stack_module_state` layout) and one
`vmap`-ed functional forward runs all M networks on their own minibatches. The loss is the sum of the per-network
mean losses, so each network's gradient is exactly its own; Adam and SGD act element-wise, so the stock optimiser
on the stacked tensors is M independent optimisers. With the same seeds it computes what `fit` computes, network by
network (up to float round-off from a different summation order).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from weightspace.errors import WeightspaceError
from weightspace.nets import Activation, ArchSpec, BatchNorm, Conv2d, Linear, NetBatch, Pool2d
from weightspace.nets.graph import build
from weightspace.train.loop import logits_of
from weightspace.train.metrics import classification_metrics

# cuBLAS is deterministic only with a fixed workspace; it must be set before the first cuBLAS call in the process.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


KERNELS = ("grouped", "unfold", "inductor", "triton")  # how the convs run: see StackedModel
_TANH = Activation(fn="tanh")


def fusable_conv(layer: Conv2d) -> bool:
    """A conv the Triton kernels take: stride 1, square, padding an integer or an odd kernel's "same"."""
    return layer.stride == 1 and (layer.padding != "same" or layer.kernel_size % 2 == 1)


def _is_pool2(layer) -> bool:
    return isinstance(layer, Pool2d) and layer.op == "avg" and layer.kernel_size == 2 and layer.stride in (None, 2)


def on_cuda(device) -> bool:
    return str(device).startswith("cuda")


def kernels_problem(kernels: str | None, device) -> str | None:
    """Why `kernels` cannot run on `device` (one line saying what to change), or None when they can."""
    if kernels is not None and kernels not in KERNELS:
        return f"--kernels must be one of {', '.join(KERNELS)}, not {kernels!r}"
    if kernels == "triton" and importlib.util.find_spec("triton") is None:
        return "--kernels triton needs Triton: pip install 'weightspace[triton]'"
    if kernels == "triton" and not on_cuda(device) and os.environ.get("TRITON_INTERPRET") != "1":
        return "--kernels triton runs on CUDA (on a CPU only under TRITON_INTERPRET=1); pass --device cuda"
    return None


@contextmanager
def gpu_kernels(device: str, deterministic: bool = True) -> Iterator[None]:
    """The GPU kernels used while the block runs. Deterministic (the default): same inputs, same bits on one GPU
    (no atomics in compiled backward passes, no autotuned cuDNN algorithms, float32 matmuls). Otherwise the fast
    kernels: atomics, TF32 matmuls and cuDNN's autotuned algorithms, about 5x faster on an H100 but not
    bit-reproducible. No-op on the CPU."""
    if not on_cuda(device):
        yield
        return
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.get_float32_matmul_precision(),
    )
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = deterministic, not deterministic
    torch.set_float32_matmul_precision("highest" if deterministic else "high")
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1:3]
        torch.set_float32_matmul_precision(before[3])


def per_network_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[M, b, out] logits, [M, b] labels -> [M] mean losses."""
    if logits.shape[-1] == 1:
        return F.binary_cross_entropy_with_logits(logits[..., 0], y.to(logits.dtype), reduction="none").mean(1)
    m, b, c = logits.shape
    return F.cross_entropy(logits.reshape(m * b, c), y.reshape(m * b), reduction="none").view(m, b).mean(1)


@dataclass
class BatchedResult:
    checkpoints: dict[int, NetBatch]  # epoch -> the networks as they were then
    metrics: dict[int, list[dict[str, float]]]  # epoch -> one row per network (train_* and test_*)


class StackedModel:
    """A functional view of one spec over M stacked networks: forward(params [M, ...], x) -> logits [M, b, out].

    Activations keep the model axis inside the channel axis ([b, M*C, H, W]) through the conv part and in front
    ([M, b, F]) through the dense part, so every layer is one kernel over all M networks: convs are grouped convs
    (CPU) or unfold + batched matmul (CUDA, where cuDNN's grouped convs with few channels per group are slow), linear
    layers are batched matmuls, and parameter-free layers run on a merged [b*M, C, ...] view. On CUDA the training
    forward is compiled with torch.compile (`compile=False` to skip). benchmarks/zoo_engine_variants.py measures each
    choice.
    """

    def __init__(self, spec: ArchSpec, device: str = "cpu", compile: bool | None = None, kernels: str | None = None):
        if any(isinstance(layer, BatchNorm) for layer in spec.layers):
            raise WeightspaceError("the batched engine does not train batchnorm networks; use train.fit per network")
        kernels = kernels or ("unfold" if on_cuda(device) else "grouped")
        if problem := kernels_problem(kernels, device):
            raise WeightspaceError(problem)
        self.spec, self.kernels = spec, kernels
        self.module = logits_of(spec, build(spec)).to(device)
        self.unfold_convs = kernels == "unfold"
        if kernels == "triton":
            from weightspace.train import triton_conv  # the optional extra, imported only when asked for

            self._triton = triton_conv
        self.reads_index = kernels == "triton" and isinstance(spec.layers[0], Conv2d)
        compile = (kernels in ("unfold", "inductor")) if compile is None else compile
        if kernels == "inductor":  # Inductor's Triton conv templates, forward and both backward passes
            os.environ.setdefault("TORCHINDUCTOR_MAX_AUTOTUNE_BWD_WEIGHT_CONV_BACKENDS", "ATEN,TRITON")
            os.environ.setdefault("TORCHINDUCTOR_MAX_AUTOTUNE_BWD_INPUT_CONV_BACKENDS", "ATEN,TRITON")
            self._forward = torch.compile(self._stacked_forward, dynamic=False, mode="max-autotune")
        else:
            self._forward = torch.compile(self._stacked_forward, dynamic=False) if compile else self._stacked_forward

    def forward(
        self,
        params: dict[str, torch.Tensor],
        x: torch.Tensor,
        shared_input: bool | int = False,
        compiled: bool = True,
        index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x is [M, b, ...] (one batch per network) or, with `shared_input`, [b, ...] seen by all M networks: then
        the first layer is one wide conv or matmul over all M networks' weights (its [b, M*C, H, W] output is the
        stacked layout), so a shared batch is never copied M times. `shared_input=K` (K > 1): x is [K, b, ...], one
        batch per group of M/K consecutive networks, and the first layer is one dense conv per group.

        `index` [M, b] (with `reads_index`): x is the whole dataset and network m reads images index[m], which the
        first conv gathers as it goes. `compiled=False` runs eagerly (evaluation: its chunk sizes then cost no
        recompilation)."""
        if index is not None:
            if not self.reads_index:
                raise WeightspaceError("only --kernels triton with a conv first reads batches through an index")
            return self._stacked_forward(params, x, 0, index)
        return (self._forward if compiled else self._stacked_forward)(params, x, int(shared_input))

    def _stacked_forward(
        self, params: dict[str, torch.Tensor], x: torch.Tensor, groups: int = 0, index: torch.Tensor | None = None
    ) -> torch.Tensor:
        m = next(iter(params.values())).shape[0]
        layers = list(zip(self.spec.layers, self.module))
        if index is not None or (self.kernels == "triton" and not groups and x.dim() == 5):
            return self._triton_forward(params, x, index, layers, m)
        if groups and not isinstance(layers[0][0], (Conv2d, Linear)):  # nothing to share: one batch per network
            x = x.unsqueeze(0) if groups == 1 else x
            x, groups = x.repeat_interleave(m // len(x), 0), 0
        if groups:
            b, spatial = (x.shape[0], x.dim() == 4) if groups == 1 else (x.shape[1], x.dim() == 5)
            h = self._first_layer_shared(x, layers[0][0], params["0.weight"], params.get("0.bias"), groups)
            start = 1
        else:
            b, spatial, start = x.shape[1], x.dim() == 5, 0
            # [b, M*C, H, W] through the conv part, [M, b, F] through the dense part
            h = x.transpose(0, 1).reshape(b, m * x.shape[2], *x.shape[3:]) if spatial else x
        for i, (layer, module) in enumerate(layers[start:], start):
            if isinstance(layer, Conv2d):
                h = self._conv(h, layer, params[f"{i}.weight"], params.get(f"{i}.bias"), m)
            elif isinstance(layer, Linear):
                weight, bias = params[f"{i}.weight"], params.get(f"{i}.bias")
                h = torch.bmm(h, weight.transpose(1, 2)) if bias is None else torch.baddbmm(
                    bias.unsqueeze(1), h, weight.transpose(1, 2))  # fmt: skip
            elif spatial:  # parameter-free layer on the merged [b*M, C, H, W] view
                out = module(h.reshape(b * m, -1, *h.shape[2:]))
                spatial = out.dim() == 4
                h = out.reshape(b, -1, *out.shape[2:]) if spatial else out.reshape(b, m, -1).transpose(0, 1)
            else:
                h = module(h.reshape(m * b, -1)).reshape(m, b, -1)
        return h

    def _triton_forward(self, params, x, index, layers, m: int) -> torch.Tensor:
        """The chain with every stride-1 conv as one Triton implicit-GEMM launch over all M networks, a tanh and a
        2x2 average pool right after it fused in; the first conv reads x[index[m]] itself when given `index`."""
        if index is None:  # [M, b, C, H, W] -> [b, M, C, H, W], the kernels' layout
            h, b = x.transpose(0, 1), x.shape[1]
        else:
            h, b = x, index.shape[1]
        i, spatial = 0, True
        while i < len(layers):
            layer, module = layers[i]
            if spatial and isinstance(layer, Conv2d) and fusable_conv(layer):
                tanh = i + 1 < len(layers) and layers[i + 1][0] == _TANH
                pool = tanh and i + 2 < len(layers) and _is_pool2(layers[i + 2][0])
                pad = (layer.kernel_size - 1) // 2 if layer.padding == "same" else layer.padding
                precision = "tf32" if torch.get_float32_matmul_precision() != "highest" else "ieee"
                h = self._triton.stacked_conv(
                    h, params[f"{i}.weight"], params.get(f"{i}.bias"), pad, tanh, pool, index, precision
                )
                index, i = None, i + 1 + tanh + pool
                continue
            if index is not None:  # a first layer the kernels cannot fuse: gather the batches as torch does
                h, index = x[index].transpose(0, 1), None
            if spatial and h.dim() == 5:
                merged = h.reshape(b, -1, *h.shape[3:])
                if isinstance(layer, Conv2d):
                    out = self._conv(merged, layer, params[f"{i}.weight"], params.get(f"{i}.bias"), m)
                else:
                    out = module(merged.reshape(b * m, -1, *merged.shape[2:]))
                    out = out.reshape(b, -1, *out.shape[2:]) if out.dim() == 4 else out.reshape(b, m, -1)
                if out.dim() == 4:
                    h = out.reshape(b, m, -1, *out.shape[2:])
                else:  # [b, M, F] -> the dense part's [M, b, F]
                    h, spatial = out.transpose(0, 1), False
            elif isinstance(layer, Linear):
                weight, bias = params[f"{i}.weight"], params.get(f"{i}.bias")
                h = torch.bmm(h, weight.transpose(1, 2)) if bias is None else torch.baddbmm(
                    bias.unsqueeze(1), h, weight.transpose(1, 2))  # fmt: skip
            else:
                h = module(h.reshape(m * b, -1)).reshape(m, b, -1)
            i += 1
        return h

    def _first_layer_shared(self, x, layer: Conv2d | Linear, weight, bias, groups: int = 1) -> torch.Tensor:
        """A first layer over batches that groups of networks share: one dense conv with M*O output channels per
        group of inputs ([b, M*O, H, W]) or one broadcast matmul ([M, b, O]). x is [b, ...] for one group, [K, b, ...]
        for K groups of M/K consecutive networks."""
        m = weight.shape[0]
        if isinstance(layer, Linear):
            if groups == 1:
                h = torch.matmul(x, weight.transpose(1, 2))
            else:  # [K, 1, b, F] @ [K, M/K, F, O] -> [M, b, O]
                w = weight.view(groups, m // groups, *weight.shape[1:]).transpose(2, 3)
                h = torch.matmul(x.unsqueeze(1), w).reshape(m, x.shape[1], -1)
            return h if bias is None else h + bias.unsqueeze(1)
        if groups > 1:  # [K, b, C, H, W] -> [b, K*C, H, W]: group k's channels feed its networks' kernels only
            x = x.transpose(0, 1).reshape(x.shape[1], -1, *x.shape[3:])
        flat_bias = None if bias is None else bias.reshape(-1)
        w = weight.reshape(-1, *weight.shape[2:])
        if not self.unfold_convs:
            x, w = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
        return F.conv2d(x, w, flat_bias, layer.stride, layer.padding, 1, groups)

    def _conv(self, h, layer: Conv2d, weight, bias, m: int) -> torch.Tensor:
        k, stride, pad = layer.kernel_size, layer.stride, layer.padding
        if pad == "same":  # PyTorch's rule: the extra pixel of an even kernel goes right and bottom
            before = (k - 1) // 2
            h, pad = F.pad(h, (before, k - 1 - before, before, k - 1 - before)), 0
        if not self.unfold_convs:  # channels-last: as fast as a plain module (benchmarks/zoo_engine_cpu_step.py)
            flat_bias = None if bias is None else bias.reshape(-1)
            h = h.contiguous(memory_format=torch.channels_last)
            w = weight.reshape(-1, *weight.shape[2:]).contiguous(memory_format=torch.channels_last)
            return F.conv2d(h, w, flat_bias, stride, pad, groups=m)
        b, _, height, width = h.shape
        out_h, out_w = (height + 2 * pad - k) // stride + 1, (width + 2 * pad - k) // stride + 1
        cols = F.unfold(h, k, padding=pad, stride=stride)  # [b, M*C*k*k, L]
        cols = cols.view(b, m, -1, out_h * out_w).permute(1, 2, 0, 3).reshape(m, -1, b * out_h * out_w)
        w = weight.reshape(m, weight.shape[1], -1)
        y = torch.bmm(w, cols) if bias is None else torch.baddbmm(bias.unsqueeze(-1), w, cols)  # [M, O, b*L]
        return y.view(m, -1, b, out_h, out_w).permute(2, 0, 1, 3, 4).reshape(b, -1, out_h, out_w)

    @torch.no_grad()
    def evaluate(
        self, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, values: int = 2**17
    ) -> list[dict[str, float]]:
        """Metrics of every network on shared inputs x [N, ...] with per-network labels y [M, N].

        Inputs go through in chunks of about `values` input values (all networks together), so activations stay in cache
        (`benchmarks/eval_chunks.py`)."""
        self.module.eval()
        device = next(iter(params.values())).device
        chunk = max(1, values // (len(y) * x[0].numel()))
        logits = torch.cat(
            [
                self.forward(params, x[i : i + chunk].to(device), shared_input=True, compiled=False).float().cpu()
                for i in range(0, len(x), chunk)
            ],
            dim=1,
        )
        self.module.train()
        return [classification_metrics(logits[m], y[m]) for m in range(len(logits))]
