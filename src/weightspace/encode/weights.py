"""What every encoder reads: the linear/conv weights of a batch of same-shaped networks, layer by layer.

Chains and graphs alike: a `Layout` (encode/layout.py) says how the layers connect and which of their axes may
trade places, so the logit-invariance loss can draw functionally equal networks of any architecture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from weightspace.encode.layout import Factor, Layout, chain_layout, graph_layout
from weightspace.errors import SpecError
from weightspace.nets import GraphSpec, Net, NetBatch, hidden_layers, permute, random_permutation


class EncodeError(SpecError):
    """Weights an encoder cannot read, or an encoder that cannot read them."""


@dataclass(frozen=True)
class WeightBatch:
    """weights[l]: [B, out, in] (linear) or [B, out, in, k, k] (conv); biases[l]: [B, out] or None.

    `spread[l]` is how many input columns of layer l belong to one unit before it (a conv's channel read through a
    flatten covers h*w columns; otherwise 1). `labels[l]` groups the units of a chain's hidden layer l that may
    trade places (units with different per-unit activations may not). `layout` is the chain these describe unless
    given (a graph's comes from its spec). `source` is the networks whole (every tensor they have, as a NetBatch),
    for encoders that run the networks; a batch permuted here carries none (its other tensors,
    a norm's gains say, would not follow), while `twins` permutes whole networks.
    """

    weights: tuple[torch.Tensor, ...]
    biases: tuple[torch.Tensor | None, ...]
    spread: tuple[int, ...]
    labels: tuple[torch.Tensor | None, ...]
    layout: Layout = field(default=None, repr=False)  # type: ignore[assignment]
    source: NetBatch | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.layout is None:
            shapes = [tuple(w.shape[1:]) for w in self.weights]
            object.__setattr__(self, "layout", chain_layout(shapes, self.spread, self.labels))

    @classmethod
    def of(cls, nets: NetBatch | Sequence[Net]) -> WeightBatch:
        """The linear/conv tensors of networks of one spec (a NetBatch, e.g. `Zoo.batch()`, or a list of Nets)."""
        batch = nets if isinstance(nets, NetBatch) else NetBatch.of(nets)
        spec, stacked = batch.spec, batch.params
        if isinstance(spec, GraphSpec):
            reads, layout = graph_layout(spec)
            weights = tuple(_read(stacked[r.weight].float(), r) for r in reads)
            biases = tuple(None if r.bias is None else stacked[r.bias].float() for r in reads)
            spread = tuple(c[0].inner for c in layout.cols)
            return cls(weights, biases, spread, (None,) * len(weights), layout, batch)
        layers = spec.parametric_layers()
        hidden = hidden_layers(spec)
        weights, biases, spread, labels = [], [], [], []
        for pos, i in enumerate(layers):
            w = stacked[f"{i}.weight"].float()
            weights.append(w)
            biases.append(stacked[f"{i}.bias"].float() if f"{i}.bias" in stacked else None)
            spread.append(1 if pos == 0 else w.shape[2] // weights[pos - 1].shape[1])
            if i in hidden:
                names = sorted(set(hidden[i]))
                lab = torch.tensor([names.index(x) for x in hidden[i]])
                labels.append(None if len(names) == 1 else lab)
            else:
                labels.append(None)
        return cls(tuple(weights), tuple(biases), tuple(spread), tuple(labels), source=batch)

    # -- views --------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.weights[0].shape[0]

    @property
    def num_layers(self) -> int:
        return len(self.weights)

    def is_conv(self, layer: int) -> bool:
        return self.weights[layer].dim() == 5

    def shape_key(self) -> tuple:
        """Equal for batches an encoder with a fixed architecture (flat MLP, NFN) can read alike."""
        return tuple(tuple(w.shape[1:]) for w in self.weights) + tuple(b is not None for b in self.biases)

    def _with(self, weights, biases, source=None) -> WeightBatch:
        return WeightBatch(tuple(weights), tuple(biases), self.spread, self.labels, self.layout, source)

    def index(self, idx: torch.Tensor | slice) -> WeightBatch:
        return self._with(
            (w[idx] for w in self.weights),
            (None if b is None else b[idx] for b in self.biases),
            None if self.source is None else self.source.index(idx),
        )

    def to(self, device: torch.device | str) -> WeightBatch:
        return self._with(
            (w.to(device) for w in self.weights),
            (None if b is None else b.to(device) for b in self.biases),
            None if self.source is None else self.source.to(device),
        )

    def twins(self, generator: torch.Generator | None = None) -> WeightBatch:
        """The same functions, each network's hidden units reordered at random as a whole Net (every tensor it
        has, `nets.permute`): an independent check of `shuffled`."""
        if self.source is None:
            raise EncodeError("this batch carries only the tensors encoders read; build it with WeightBatch.of")
        nets = self.source.to("cpu").nets()
        twins = NetBatch.of([permute(net, random_permutation(net.spec, generator)) for net in nets])
        return WeightBatch.of(twins).to(self.weights[0].device)

    def flat(self) -> torch.Tensor:
        """[B, P]: every weight and bias, layer by layer."""
        parts = []
        for w, b in zip(self.weights, self.biases):
            parts.append(w.flatten(1))
            if b is not None:
                parts.append(b)
        return torch.cat(parts, 1)

    # -- symmetry: functionally equal batches, for augmentation and invariance ----------------------------------
    # The permutation group is `nets`' (nets.random_permutation / permute act on one Net). Here it acts on a
    # whole batch at once in the encoders' view: one unit order per layout factor and network, {factor: [B, units]}.
    def shuffled(self, generator: torch.Generator | None = None) -> WeightBatch:
        """The same functions, every network's hidden units (and attention heads) in a uniformly random order."""
        return self._reorder(self._draw_orders(generator))

    def canonical(self) -> WeightBatch:
        """Every network's units sorted by a key that permuting cannot change (see `_canonical_orders`): all
        permuted twins of a network come out alike, so encoding this is exactly invariant."""
        return self._reorder(self._canonical_orders())

    def sign_flipped(self, generator: torch.Generator | None = None) -> WeightBatch:
        """Every hidden unit's incoming and outgoing weights times an independent random sign. The same functions
        exactly when the hidden activations are odd (`nets.sign_symmetric`)."""
        return self._flip(self._draw_signs(generator))

    def _draw_orders(self, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """One uniformly random order per network of every factor: {factor: [B, units]}."""
        device = self.weights[0].device
        heads: dict[str, torch.Tensor] = {}
        perms = {}
        for name, f in self.layout.factors.items():
            if f.heads == 1:
                key = torch.rand(len(self), f.size, generator=generator).to(device)
                perms[name] = self._sorting(f, key)
                continue
            if f.head_of is None:
                heads[name] = torch.rand(len(self), f.heads, generator=generator).argsort(1).to(device)
            within = torch.rand(len(self), f.heads, f.size // f.heads, generator=generator).argsort(2)
            perms[name] = _by_heads(heads[f.head_of or name], within.to(device))
        return perms

    def _canonical_orders(self) -> dict[str, torch.Tensor]:
        """The orders that sort every factor's units by the sum of their incoming weights and biases (over
        every layer that writes them); attention heads by the sum of their q/k features' keys.

        The key does not change when other factors are permuted, so all permuted twins of a network sort into
        one order (ties within float rounding aside): encoding the sorted network is exactly invariant.
        """
        keys: dict[str, torch.Tensor] = {}
        for row, w, b in zip(self.layout.rows, self.weights, self.biases):
            if row is not None:
                key = w.flatten(2).sum(2) + (0 if b is None else b)
                keys[row] = keys[row] + key if row in keys else key
        heads: dict[str, torch.Tensor] = {}
        perms = {}
        for name, f in self.layout.factors.items():
            key = keys[name]
            if f.heads == 1:
                perms[name] = self._sorting(f, key)
                continue
            key = key.view(len(self), f.heads, -1)
            if f.head_of is None:
                heads[name] = key.sum(2).argsort(1)
            order = heads[f.head_of or name]
            within = key.gather(1, order[:, :, None].expand_as(key)).argsort(2)
            perms[name] = _by_heads(order, within)
        return perms

    @staticmethod
    def _sorting(f: Factor, key: torch.Tensor) -> torch.Tensor:
        """[B, width]: units in ascending `key` order, each staying among the slots of its activation label."""
        if f.labels is None:
            return key.argsort(1)
        labels = f.labels.to(key.device)
        rank = key.argsort(1).argsort(1).float() / (2 * key.shape[1])  # in [0, 0.5): keeps labels apart
        order = (labels + rank).argsort(1)  # old units grouped by label, ascending key within a label
        slots = labels.argsort(stable=True)
        perm = torch.empty_like(order)
        perm[:, slots] = order
        return perm

    def _columns(self, layer: int, perms: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """[B, in]: the new order of layer `layer`'s input columns, or None where none of them move."""
        stretches = self.layout.cols[layer]
        if not any(s.factor in perms for s in stretches):
            return None
        device, parts, offset = self.weights[layer].device, [], 0
        for s in stretches:
            p = perms.get(s.factor) if s.factor else None
            p = torch.arange(s.units, device=device).expand(len(self), -1) if p is None else p
            parts.append((p[:, :, None] * s.inner + torch.arange(s.inner, device=device)).flatten(1) + offset)
            offset += s.units * s.inner
        return torch.cat(parts, 1)

    def _reorder(self, perms: dict[str, torch.Tensor]) -> WeightBatch:
        """The same functions with units reordered: new unit j of a factor is its old unit `perms[factor][:, j]`."""
        weights, biases = list(self.weights), list(self.biases)
        for layer, row in enumerate(self.layout.rows):
            if row in perms:
                weights[layer] = _take(weights[layer], perms[row], dim=1)
                if biases[layer] is not None:
                    biases[layer] = _take(biases[layer], perms[row], dim=1)
            cols = self._columns(layer, perms)
            if cols is not None:
                weights[layer] = _take(weights[layer], cols, dim=2)
        return self._with(weights, biases)

    def _draw_signs(self, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Independent random +-1 per unit of every factor and network: {factor: [B, units]}."""
        return {
            name: (torch.rand(len(self), f.size, generator=generator) < 0.5).float() * 2 - 1
            for name, f in self.layout.factors.items()
        }

    def _flip(self, signs: dict[str, torch.Tensor]) -> WeightBatch:
        """Every unit of a factor times its sign: the rows that write it and the columns that read it."""
        weights, biases = list(self.weights), list(self.biases)
        for layer, row in enumerate(self.layout.rows):
            w = weights[layer]
            if row in signs:
                s = signs[row].to(w.device)
                w = w * s.view(*s.shape, *[1] * (w.dim() - 2))
                if biases[layer] is not None:
                    biases[layer] = biases[layer] * s
            stretches = self.layout.cols[layer]
            if any(st.factor in signs for st in stretches):
                cols = torch.cat(
                    [
                        signs[st.factor].to(w.device).repeat_interleave(st.inner, 1)
                        if st.factor in signs
                        else w.new_ones(len(self), st.units * st.inner)
                        for st in stretches
                    ],
                    1,
                )
                w = w * cols.view(cols.shape[0], 1, cols.shape[1], *[1] * (w.dim() - 3))
            weights[layer] = w
        return self._with(weights, biases)


def _read(w: torch.Tensor, read) -> torch.Tensor:
    """[B, ...] a layer's weight as an encoder reads it (see `layout.Read`)."""
    if read.as_linear:
        return w.flatten(2)
    return w.transpose(1, 2) if read.transposed else w


def _by_heads(order: torch.Tensor, within: torch.Tensor) -> torch.Tensor:
    """[B, heads * head]: new head j is old head order[:, j], its features reordered by within[:, j]."""
    return (order[:, :, None] * within.shape[2] + within).flatten(1)


def _take(t: torch.Tensor, index: torch.Tensor, dim: int) -> torch.Tensor:
    """t indexed along `dim` by a per-network index [B, n]."""
    shape = [index.shape[0]] + [1] * (t.dim() - 1)
    shape[dim] = index.shape[1]
    idx = index.reshape(shape).expand(*t.shape[:dim], index.shape[1], *t.shape[dim + 1 :])
    return t.gather(dim, idx)
