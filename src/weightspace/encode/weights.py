"""What every encoder reads: the linear/conv weights of a batch of same-shaped networks, layer by layer.

Batchnorm statistics and activations are not read (as in the SNE paper). A `WeightBatch` also knows the
architecture's permutation symmetry, so the logit-invariance loss can draw functionally equal networks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from weightspace.errors import SpecError
from weightspace.nets import chain_only
from weightspace.nets.net import Net
from weightspace.nets.spec import ArchSpec
from weightspace.nets.symmetry import hidden_layers


class EncodeError(SpecError):
    """Weights an encoder cannot read, or an encoder that cannot read them."""


@dataclass(frozen=True)
class WeightBatch:
    """weights[l]: [B, out, in] (linear) or [B, out, in, k, k] (conv); biases[l]: [B, out] or None.

    `spread[l]` is how many input columns of layer l belong to one unit of layer l-1 (a conv's channel read
    through a flatten covers h*w columns; otherwise 1). `labels[l]` groups the units of hidden layer l that may
    trade places (units with different per-unit activations may not).
    """

    weights: tuple[torch.Tensor, ...]
    biases: tuple[torch.Tensor | None, ...]
    spread: tuple[int, ...]
    labels: tuple[torch.Tensor | None, ...]

    @classmethod
    def from_stacked(cls, spec: ArchSpec, stacked: dict[str, torch.Tensor]) -> WeightBatch:
        """The linear/conv tensors of `stacked` ({name: [B, ...]}, e.g. Zoo.stacked()) for networks of `spec`."""
        spec = chain_only(spec, "the weight-space encoders")
        expected = spec.state_shapes()
        sizes = {t.shape[0] for t in stacked.values()}
        wrong = [
            f"{name} {tuple(stacked[name].shape[1:]) if name in stacked else 'missing'} (spec: {shape})"
            for name, shape in expected.items()
            if name not in stacked or tuple(stacked[name].shape[1:]) != tuple(shape)
        ]
        if wrong or len(sizes) != 1:
            detail = "; ".join(wrong) if wrong else "tensors hold different numbers of networks"
            raise EncodeError(f"weights do not match the spec {spec.name or '(unnamed)'}: {detail}")
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
        return cls(tuple(weights), tuple(biases), tuple(spread), tuple(labels))

    @classmethod
    def of_nets(cls, nets: list[Net]) -> WeightBatch:
        """Networks that share one spec, batched."""
        spec = nets[0].spec
        if any(n.spec.state_shapes() != spec.state_shapes() for n in nets):
            raise EncodeError("networks of different shapes cannot share a batch; encode each architecture apart")
        return cls.from_stacked(spec, {k: torch.stack([n.params[k] for n in nets]) for k in nets[0].params})

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

    def index(self, idx: torch.Tensor | slice) -> WeightBatch:
        return WeightBatch(
            tuple(w[idx] for w in self.weights),
            tuple(None if b is None else b[idx] for b in self.biases),
            self.spread,
            self.labels,
        )

    def to(self, device: torch.device | str) -> WeightBatch:
        return WeightBatch(
            tuple(w.to(device) for w in self.weights),
            tuple(None if b is None else b.to(device) for b in self.biases),
            self.spread,
            self.labels,
        )

    def flat(self) -> torch.Tensor:
        """[B, P]: every weight and bias, layer by layer."""
        parts = []
        for w, b in zip(self.weights, self.biases):
            parts.append(w.flatten(1))
            if b is not None:
                parts.append(b)
        return torch.cat(parts, 1)

    # -- symmetry -----------------------------------------------------------------------------------------------
    def random_permutation(self, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """One uniformly random hidden-unit permutation per network: [B, width] per hidden layer."""
        keys = [torch.rand(len(self), self.weights[layer].shape[1], generator=generator) for layer in self._hidden()]
        return [self._sorting(layer, key.to(self.weights[layer].device)) for layer, key in zip(self._hidden(), keys)]

    def canonical_permutation(self) -> list[torch.Tensor]:
        """The permutation that sorts every hidden layer's units by their incoming weights' sum plus bias.

        The key does not change when other layers are permuted, so all permuted twins of a network sort into
        one order (ties within float rounding aside): encoding the sorted network is exactly invariant.
        """
        perms = []
        for layer in self._hidden():
            w, b = self.weights[layer], self.biases[layer]
            key = w.flatten(2).sum(2) + (0 if b is None else b)
            perms.append(self._sorting(layer, key))
        return perms

    def canonical(self) -> WeightBatch:
        return self.permute(self.canonical_permutation())

    def _hidden(self) -> range:
        return range(self.num_layers - 1)

    def _sorting(self, layer: int, key: torch.Tensor) -> torch.Tensor:
        """[B, width]: units in ascending `key` order, each staying among the slots of its activation label."""
        labels = self.labels[layer]
        if labels is None:
            return key.argsort(1)
        labels = labels.to(key.device)
        rank = key.argsort(1).argsort(1).float() / (2 * key.shape[1])  # in [0, 0.5): keeps labels apart
        order = (labels + rank).argsort(1)  # old units grouped by label, ascending key within a label
        slots = labels.argsort(stable=True)
        perm = torch.empty_like(order)
        perm[:, slots] = order
        return perm

    def permute(self, perms: list[torch.Tensor]) -> WeightBatch:
        """The same functions with hidden units reordered: new unit j of layer l is old unit perms[l][:, j]."""
        weights, biases = list(self.weights), list(self.biases)
        for layer, p in enumerate(perms):
            w, b = weights[layer], biases[layer]
            weights[layer] = _take(w, p, dim=1)
            if b is not None:
                biases[layer] = _take(b, p, dim=1)
            s = self.spread[layer + 1]
            cols = p if s == 1 else (p[:, :, None] * s + torch.arange(s, device=p.device)).flatten(1)
            weights[layer + 1] = _take(weights[layer + 1], cols, dim=2)
        return WeightBatch(tuple(weights), tuple(biases), self.spread, self.labels)

    def random_signs(self, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Independent random +-1 per hidden unit and network: [B, width] per hidden layer."""
        return [
            (torch.rand(len(self), self.weights[layer].shape[1], generator=generator) < 0.5).float() * 2 - 1
            for layer in self._hidden()
        ]

    def flip_signs(self, signs: list[torch.Tensor]) -> WeightBatch:
        """Unit j of hidden layer l times signs[l][:, j]: its incoming weights and bias, and its outgoing weights.
        The same function exactly when the hidden activations are odd (`nets.symmetry.sign_symmetric`)."""
        weights, biases = list(self.weights), list(self.biases)
        for layer, s in enumerate(signs):
            s = s.to(weights[layer].device)
            w = weights[layer]
            weights[layer] = w * s.view(*s.shape, *[1] * (w.dim() - 2))
            if biases[layer] is not None:
                biases[layer] = biases[layer] * s
            nxt, spread = weights[layer + 1], self.spread[layer + 1]
            cols = s if spread == 1 else s.repeat_interleave(spread, 1)
            weights[layer + 1] = nxt * cols.view(cols.shape[0], 1, cols.shape[1], *[1] * (nxt.dim() - 3))
        return WeightBatch(tuple(weights), tuple(biases), self.spread, self.labels)


def _take(t: torch.Tensor, index: torch.Tensor, dim: int) -> torch.Tensor:
    """t indexed along `dim` by a per-network index [B, n]."""
    shape = [index.shape[0]] + [1] * (t.dim() - 1)
    shape[dim] = index.shape[1]
    idx = index.reshape(shape).expand(*t.shape[:dim], index.shape[1], *t.shape[dim + 1 :])
    return t.gather(dim, idx)
