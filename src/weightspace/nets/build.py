"""Turn an ArchSpec (a chain) into an `nn.Sequential`, and a module whose forward is a chain back into one."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from weightspace.errors import SpecError
from weightspace.nets.spec import (
    Activation,
    ArchSpec,
    BatchNorm,
    Conv2d,
    Dropout,
    Flatten,
    GlobalPool,
    Linear,
    Pool2d,
)


class Sin(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


class GlobalPool2d(nn.Module):
    """[B, C, H, W] -> [B, C] by averaging or taking the maximum over positions."""

    def __init__(self, op: str = "avg"):
        super().__init__()
        self.op = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3)) if self.op == "avg" else x.amax(dim=(2, 3))


def activation_fn(name: str, negative_slope: float = 0.01):
    """The element-wise function behind an activation name."""
    return {
        "relu": torch.relu,
        "leaky_relu": lambda x: nn.functional.leaky_relu(x, negative_slope),
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "gelu": nn.functional.gelu,
        "sin": torch.sin,
        "identity": lambda x: x,
    }[name]


class PerUnitActivation(nn.Module):
    """Applies its own activation to each unit (dim 1) of the input, as SWAT-NN's MLPs need."""

    def __init__(self, fns: list[str], negative_slope: float = 0.01):
        super().__init__()
        self.fns = list(fns)
        self.negative_slope = negative_slope
        for name in sorted(set(fns)):  # boolean unit masks, one per distinct activation
            mask = torch.tensor([f == name for f in fns])
            self.register_buffer(f"mask_{name}", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(x)
        view = (1, -1) + (1,) * (x.dim() - 2)
        for name in sorted(set(self.fns)):
            mask = getattr(self, f"mask_{name}").view(view)
            out = torch.where(mask, activation_fn(name, self.negative_slope)(x), out)
        return out


_SIMPLE_ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "sin": Sin,
    "identity": nn.Identity,
}


def _module(layer, in_shape) -> nn.Module:
    if isinstance(layer, Linear):
        return nn.Linear(in_shape[0], layer.out_features, bias=layer.bias)
    if isinstance(layer, Conv2d):
        return nn.Conv2d(
            in_shape[0], layer.out_channels, layer.kernel_size, layer.stride, layer.padding, bias=layer.bias
        )
    if isinstance(layer, Pool2d):
        cls = nn.AvgPool2d if layer.op == "avg" else nn.MaxPool2d
        return cls(layer.kernel_size, layer.stride)
    if isinstance(layer, GlobalPool):
        return GlobalPool2d(layer.op)
    if isinstance(layer, Flatten):
        return nn.Flatten()
    if isinstance(layer, BatchNorm):
        cls = nn.BatchNorm1d if len(in_shape) == 1 else nn.BatchNorm2d
        return cls(in_shape[0], eps=layer.eps, momentum=layer.momentum)
    if isinstance(layer, Activation):
        if isinstance(layer.fn, list):
            return PerUnitActivation(layer.fn, layer.negative_slope)
        if layer.fn == "leaky_relu":
            return nn.LeakyReLU(layer.negative_slope)
        return _SIMPLE_ACTIVATIONS[layer.fn]()
    if isinstance(layer, Dropout):
        return nn.Dropout(layer.p)
    raise SpecError(f"no builder for layer kind {layer.kind!r}")


def build_chain(spec: ArchSpec) -> nn.Sequential:
    """A freshly initialised `nn.Sequential` whose state_dict names match `spec.state_shapes()`."""
    shapes = spec.shapes()
    return nn.Sequential(*[_module(layer, shapes[i]) for i, layer in enumerate(spec.layers)])


def _layer_of(module: nn.Module, index: int | str):
    """The spec layer for one module of a plain nn.Sequential."""
    if isinstance(module, nn.Linear):
        return Linear(out_features=module.out_features, bias=module.bias is not None)
    if isinstance(module, nn.Conv2d):
        k, s, p = module.kernel_size, module.stride, module.padding
        if k[0] != k[1] or s[0] != s[1] or (not isinstance(p, str) and p[0] != p[1]):
            raise SpecError(f"module {index}: only square conv kernels, strides and paddings are supported")
        if module.groups != 1 or module.dilation != (1, 1) or module.padding_mode != "zeros":
            raise SpecError(f"module {index}: grouped, dilated or non-zero-padded convs are not supported")
        return Conv2d(
            out_channels=module.out_channels,
            kernel_size=k[0],
            stride=s[0],
            padding=p if isinstance(p, str) else p[0],
            bias=module.bias is not None,
        )
    if isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)):
        k, s = module.kernel_size, module.stride
        k = k if isinstance(k, int) else k[0]
        s = s if isinstance(s, int) or s is None else s[0]
        s = None if s == k else s  # the spec writes "same as the window" as None
        if getattr(module, "padding", 0) not in (0, (0, 0)):
            raise SpecError(f"module {index}: padded pooling is not supported")
        return Pool2d(op="avg" if isinstance(module, nn.AvgPool2d) else "max", kernel_size=k, stride=s)
    if isinstance(module, GlobalPool2d):
        return GlobalPool(op=module.op)
    if isinstance(module, nn.Flatten):
        return Flatten()
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return BatchNorm(eps=module.eps, momentum=module.momentum if module.momentum is not None else 0.1)
    if isinstance(module, PerUnitActivation):
        return Activation(fn=module.fns, negative_slope=module.negative_slope)
    if isinstance(module, Sin):
        return Activation(fn="sin")
    if isinstance(module, nn.LeakyReLU):
        return Activation(fn="leaky_relu", negative_slope=module.negative_slope)
    for name, cls in _SIMPLE_ACTIVATIONS.items():
        if type(module) is cls:
            return Activation(fn=name)
    if isinstance(module, nn.Dropout):
        return Dropout(p=module.p)
    raise SpecError(
        f"module {index} ({type(module).__name__}) has no ArchSpec equivalent; supported: Linear, Conv2d, "
        "AvgPool2d, MaxPool2d, Flatten, BatchNorm1d/2d, ReLU, LeakyReLU, Tanh, Sigmoid, GELU, Identity, Dropout"
    )


def chain_spec_of(model: nn.Module, input_shape: tuple[int, ...], name: str = "") -> ArchSpec:
    """The ArchSpec of a module whose forward is a chain of supported layers: an `nn.Sequential` (nested ones too),
    or any module `torch.fx` can trace (layers as submodules or as torch functions: relu, tanh, sin, flatten, ...).
    Anything else is refused naming the node that is not a supported layer."""
    layers = [_layer_of(m, label) for label, m in chain_of(model)]
    return ArchSpec(input_shape=tuple(input_shape), layers=layers, name=name)


ACTIVATION_FUNCTIONS = {  # torch functions a traced forward may call, as the activations they are
    torch.relu: "relu", F.relu: "relu", torch.tanh: "tanh", F.tanh: "tanh", torch.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid", F.gelu: "gelu", torch.sin: "sin", F.leaky_relu: "leaky_relu",
}  # fmt: skip
ACTIVATION_METHODS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "sin": "sin"}  # x.relu() ...


def _simple(name: str | None) -> bool:
    """An activation a chain step can be without attributes (leaky_relu's slope is read by the graph tracer)."""
    return name in _SIMPLE_ACTIVATIONS


def chain_of(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(label, module) for each step of the model's forward, in order; SpecError if it is not a plain chain."""
    if isinstance(model, nn.Sequential):
        out = []
        for i, m in enumerate(model):
            out += (
                [(f"{i}.{label}", sub) for label, sub in chain_of(m)] if isinstance(m, nn.Sequential) else [(str(i), m)]
            )
        return out
    import torch.fx

    try:
        traced = torch.fx.symbolic_trace(model)
    except Exception as err:  # fx raises many kinds for data-dependent control flow
        raise SpecError(f"{type(model).__name__} cannot be traced by torch.fx ({err})") from None
    steps, previous = [], None
    for node in traced.graph.nodes:
        where = f"node {node.name!r} ({node.op} {getattr(node.target, '__name__', node.target)})"
        if node.op == "placeholder":
            if previous is not None:
                raise SpecError(f"{where}: the model takes more than one input")
            previous = node
            continue
        if node.op == "output":
            if node.args[0] is not previous:
                raise SpecError(f"{where}: the output is not the last step of a chain")
            break
        if not node.args or node.args[0] is not previous or len(previous.users) != 1:
            raise SpecError(f"{where}: the forward is not a chain (a step uses more than the one before it)")
        if node.op == "call_module":
            steps.append((str(node.target), traced.get_submodule(node.target)))
        elif node.op == "call_function" and _simple(ACTIVATION_FUNCTIONS.get(node.target)) and _plain_call(node):
            steps.append((node.name, _SIMPLE_ACTIVATIONS[ACTIVATION_FUNCTIONS[node.target]]()))
        elif node.op == "call_method" and _simple(ACTIVATION_METHODS.get(node.target)) and _plain_call(node):
            steps.append((node.name, _SIMPLE_ACTIVATIONS[ACTIVATION_METHODS[node.target]]()))
        elif _is_flatten(node):
            steps.append((node.name, nn.Flatten()))
        else:
            raise SpecError(f"{where} is not a supported layer; weightspace reads chains of Linear, Conv2d, pooling, "
                            "Flatten, BatchNorm, activations and Dropout")  # fmt: skip
        previous = node
    return steps


def _plain_call(node) -> bool:
    """f(x) with no other argument (an `inplace=False` is allowed: it changes nothing)."""
    return len(node.args) == 1 and all(k == "inplace" and v is False for k, v in node.kwargs.items())


def _is_flatten(node) -> bool:
    """torch.flatten(x, 1) or x.flatten(1): keep the batch dimension, flatten the rest."""
    args, kwargs = node.args[1:], dict(node.kwargs)
    start = args[0] if args else kwargs.pop("start_dim", 0)
    end = args[1] if len(args) > 1 else kwargs.pop("end_dim", -1)
    named = (node.op == "call_function" and node.target is torch.flatten) or (
        node.op == "call_method" and node.target == "flatten"
    )
    return named and start == 1 and end == -1 and not kwargs
