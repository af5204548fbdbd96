"""Graph presets: the residual, wide-residual, Inception-style and ViT networks of our papers' own experiments, at
the sizes of 28x28 or 32x32 inputs."""

from __future__ import annotations

from collections.abc import Sequence

from weightspace.errors import SpecError
from weightspace.nets.graph import (
    Add,
    Attention,
    ClassToken,
    Concat,
    GraphSpec,
    LayerNorm,
    Node,
    PaddedPool,
    Patchify,
    Positions,
    PrefixAdd,
    TokenMean,
)
from weightspace.nets.spec import Activation, BatchNorm, Conv2d, GlobalPool, Linear, Pool2d


class _Graph:
    """Nodes appended one at a time, each named after its role and numbered."""

    def __init__(self):
        self.nodes: list[Node] = []

    def add(self, name: str, op, *inputs: str) -> str:
        self.nodes.append(Node(name=name, op=op, inputs=list(inputs)))
        return name

    def conv_bn_relu(self, name: str, x: str, channels: int, k: int, stride: int = 1, relu: bool = True) -> str:
        x = self.add(f"{name}_conv", Conv2d(out_channels=channels, kernel_size=k, stride=stride, padding=k // 2,
                                            bias=False), x)  # fmt: skip
        x = self.add(f"{name}_bn", BatchNorm(), x)
        return self.add(f"{name}_relu", Activation(fn="relu"), x) if relu else x


def _residual(g: _Graph, name: str, x: str, channels: int, stride: int, in_channels: int) -> str:
    """He et al.'s basic block: two 3x3 convs, the input added back (a 1x1 conv where the shape changes)."""
    h = g.conv_bn_relu(f"{name}_a", x, channels, 3, stride)
    h = g.conv_bn_relu(f"{name}_b", h, channels, 3, relu=False)
    skip = x
    if stride != 1 or channels != in_channels:
        skip = g.conv_bn_relu(f"{name}_skip", x, channels, 1, stride, relu=False)
    return g.add(f"{name}_out", Activation(fn="relu"), g.add(f"{name}_sum", Add(), h, skip))


def resnet(depth: int = 8, input_shape: Sequence[int] = (1, 28, 28), classes: int = 10, width: int = 16) -> GraphSpec:
    """CIFAR-style ResNet (depth 6n + 2): a 3x3 stem, three stages of n basic blocks (width, 2x, 4x; stride 2 between
    stages), global average pooling and a linear head."""
    if depth < 8 or (depth - 2) % 6:
        raise SpecError(f"resnet depth must be 6n + 2 with n >= 1 (8, 14, 20, ...), not {depth}")
    return _residual_net(f"resnet{depth}", (depth - 2) // 6, input_shape, classes, [width, 2 * width, 4 * width])


def wrn(depth: int = 10, widen: int = 2, input_shape: Sequence[int] = (1, 28, 28), classes: int = 10) -> GraphSpec:
    """Zagoruyko & Komodakis' wide residual network WRN-depth-widen (depth 6n + 4): stages of 16k, 32k, 64k channels
    (Ha et al.'s hypernetwork experiment: WRN-40-2)."""
    if depth < 10 or (depth - 4) % 6:
        raise SpecError(f"wrn depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, 40, ...), not {depth}")
    return _residual_net(f"wrn{depth}-{widen}", (depth - 4) // 6, input_shape, classes, [16 * widen, 32 * widen,
                                                                                            64 * widen])  # fmt: skip


def _residual_net(name: str, blocks: int, input_shape, classes: int, widths: list[int]) -> GraphSpec:
    g = _Graph()
    x = g.conv_bn_relu("stem", "input", 16, 3)
    channels = 16
    for s, w in enumerate(widths):
        for b in range(blocks):
            x = _residual(g, f"s{s}b{b}", x, w, 2 if s and not b else 1, channels)
            channels = w
    x = g.add("pool", GlobalPool(), x)
    g.add("head", Linear(out_features=classes), x)
    return GraphSpec(input_shape=tuple(input_shape), nodes=g.nodes, name=name)


def inception_small(input_shape: Sequence[int] = (1, 28, 28), classes: int = 10, width: float = 1.0) -> GraphSpec:
    """Two Inception-style blocks (1x1, 3x3 and 5x5 convs and a pooled 1x1 branch, concatenated, each with batchnorm)
    between a stem and a linear head; `width` scales every branch (Net2Net's narrow teacher: sqrt(0.3))."""

    def c(n: int) -> int:
        return max(1, round(n * width))

    g = _Graph()
    x = g.add("stem_pool", Pool2d(op="max", kernel_size=2), g.conv_bn_relu("stem", "input", c(32), 3))
    for i, (b1, b3, b5, bp) in enumerate([(16, 24, 8, 8), (24, 32, 12, 12)]):
        one = g.conv_bn_relu(f"inc{i}_1x1", x, c(b1), 1)
        three = g.conv_bn_relu(f"inc{i}_3x3", g.conv_bn_relu(f"inc{i}_3x3r", x, c(b3) // 2 or 1, 1), c(b3), 3)
        five = g.conv_bn_relu(f"inc{i}_5x5", g.conv_bn_relu(f"inc{i}_5x5r", x, c(b5) // 2 or 1, 1), c(b5), 5)
        pool = g.add(f"inc{i}_pool", PaddedPool(), x)
        pool = g.conv_bn_relu(f"inc{i}_poolproj", pool, c(bp), 1)
        x = g.add(f"inc{i}_cat", Concat(), one, three, five, pool)
    x = g.add("pool", GlobalPool(), x)
    g.add("head", Linear(out_features=classes), x)
    return GraphSpec(input_shape=tuple(input_shape), nodes=g.nodes, name="inception-small")


def vit_tiny(
    input_shape: Sequence[int] = (1, 28, 28), classes: int = 10, patch: int = 7, depth: int = 2, dim: int = 32,
    heads: int = 4,
) -> GraphSpec:  # fmt: skip
    """A small vision transformer: patches to tokens, a class token, learned positions, `depth` pre-norm blocks
    (attention and a 2-layer GELU MLP, each added back) and a linear head on the normalised class token."""
    g = _Graph()
    x = g.add("patches", Patchify(patch=patch, dim=dim), "input")
    x = g.add("positions", Positions(), g.add("cls", ClassToken(), x))
    for i in range(depth):
        h = g.add(f"b{i}_attn", Attention(heads=heads), g.add(f"b{i}_norm1", LayerNorm(), x))
        x = g.add(f"b{i}_sum1", Add(), x, h)
        h = g.add(f"b{i}_fc1", Linear(out_features=2 * dim), g.add(f"b{i}_norm2", LayerNorm(), x))
        h = g.add(f"b{i}_fc2", Linear(out_features=dim), g.add(f"b{i}_gelu", Activation(fn="gelu"), h))
        x = g.add(f"b{i}_sum2", Add(), x, h)
    x = g.add("first", TokenMean(first=True), g.add("norm", LayerNorm(), x))
    g.add("head", Linear(out_features=classes), x)
    return GraphSpec(input_shape=tuple(input_shape), nodes=g.nodes, name=f"vit-tiny-p{patch}-d{depth}")


def resnet18(input_shape: Sequence[int] = (3, 32, 32), classes: int = 10, width: int = 64) -> GraphSpec:
    """ResNet-18 as Schürholt et al.'s model zoos train it on 32x32 images: torchvision's ResNet with basic blocks
    [2, 2, 2, 2], a 3x3 stride-1 stem and no max pool. Node names are torchvision's module names with "_" for ".",
    so its state dict reads by name (`layer1.0.conv1.weight` is node `layer1_0_conv1`)."""
    g = _Graph()

    def conv_bn(name: str, bn: str, x: str, c: int, k: int, stride: int) -> str:
        x = g.add(name, Conv2d(out_channels=c, kernel_size=k, stride=stride, padding=k // 2, bias=False), x)
        return g.add(bn, BatchNorm(), x)

    x = g.add("relu", Activation(fn="relu"), conv_bn("conv1", "bn1", "input", width, 3, 1))
    channels = width
    for stage in range(4):
        c = width * 2**stage
        for block in range(2):
            name, stride = f"layer{stage + 1}_{block}", 2 if stage and not block else 1
            h = g.add(f"{name}_relu1", Activation(fn="relu"), conv_bn(f"{name}_conv1", f"{name}_bn1", x, c, 3, stride))
            h = conv_bn(f"{name}_conv2", f"{name}_bn2", h, c, 3, 1)
            skip = x
            if stride != 1 or c != channels:
                skip = conv_bn(f"{name}_downsample_0", f"{name}_downsample_1", x, c, 1, stride)
            x = g.add(f"{name}_relu2", Activation(fn="relu"), g.add(f"{name}_add", Add(), h, skip))
            channels = c
    g.add("fc", Linear(out_features=classes), g.add("avgpool", GlobalPool(), x))
    return GraphSpec(input_shape=tuple(input_shape), nodes=g.nodes, name="resnet18")


def wild_cnn(
    channels: Sequence[int] = (8, 16),
    kernels: Sequence[int] = (3, 3),
    residual: Sequence[int] = (-1, -1),
    activations: Sequence[str] = ("relu", "relu"),
    batchnorm: bool = False,
    input_shape: Sequence[int] = (1, 28, 28),
    classes: int = 10,
) -> GraphSpec:
    """A CNN of CNN Wild Park's family (Kofinas et al. 2024): stride-1 "same" convs of any widths and odd kernels,
    each followed (optionally by batchnorm, then) by the skip from layer `residual[i]`'s activation added onto its
    leading channels (-1: none; never the layer just before), then its own activation ("none": identity); global
    average pooling and a linear head. Conv nodes are `conv<i>`, the head `fc`."""
    n = len(channels)
    if not n or not len(kernels) == len(residual) == len(activations) == n:
        raise SpecError("wild_cnn needs one kernel, residual and activation per conv layer")
    bad = [r for i, r in enumerate(residual) if not (r == -1 or 0 <= r < i - 1)]
    if bad or any(k % 2 == 0 for k in kernels):
        raise SpecError("wild_cnn: kernels must be odd, and residual[i] -1 or a layer before i - 1")
    g, x, outs = _Graph(), "input", []
    for i, (c, k, r, fn) in enumerate(zip(channels, kernels, residual, activations)):
        x = g.add(f"conv{i}", Conv2d(out_channels=c, kernel_size=k, padding=k // 2), x)
        if batchnorm:
            x = g.add(f"bn{i}", BatchNorm(), x)
        if r >= 0:
            x = g.add(f"skip{i}", PrefixAdd(), x, outs[r])
        x = g.add(f"act{i}", Activation(fn="identity" if fn == "none" else fn), x)
        outs.append(x)
    x = g.add("pool", GlobalPool(), x)
    g.add("fc", Linear(out_features=classes), x)
    return GraphSpec(input_shape=tuple(input_shape), nodes=g.nodes, name=f"wild-cnn{n}")


GRAPH_PRESETS = {
    "wild-cnn": wild_cnn,
    "resnet18": resnet18,
    "resnet": resnet,
    "wrn": wrn,
    "inception-small": inception_small,
    "vit-tiny": vit_tiny,
}
