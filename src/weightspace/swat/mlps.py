"""The MLP family SWAT-NN's autoencoder learns: 2 inputs, 1 output, 1-4 hidden layers of width up to 7, each
hidden neuron with an on/off flag and its own activation.

A batch of B networks of one depth L is held as tensors (`MLPBatch`), so sampling, the functional forward pass and
the search all run batched. Activations and gates may be soft (probabilities), which is what the decoders and the
latent search produce; sampled networks have one-hot activations and 0/1 gates.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from weightspace.data import TaskData
from weightspace.errors import WeightspaceError
from weightspace.nets import Activation, ArchSpec, Linear, Net, NetBatch

WIDTH, INPUTS, MAX_DEPTH = 7, 2, 4
ACTS = ("sigmoid", "tanh", "leaky_relu")  # one-hot order of the activation code
SLOPE = 0.01


class SwatError(WeightspaceError):
    """Bad input to the swat area."""


@dataclass
class MLPBatch:
    """B MLPs of depth L: `weights[l]` `[B, in, out]` (in_0 = 2, out_L = 1), `biases[l]` `[B, out]`,
    `act` `[B, L, 7, 3]` (activation weights per hidden neuron), `gate` `[B, L, 7]` (neuron on/off in [0, 1])."""

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    act: torch.Tensor
    gate: torch.Tensor

    @property
    def depth(self) -> int:
        return len(self.weights) - 1

    def __len__(self) -> int:
        return self.act.shape[0]

    def index(self, idx) -> MLPBatch:
        return MLPBatch([w[idx] for w in self.weights], [b[idx] for b in self.biases], self.act[idx], self.gate[idx])

    def to(self, device) -> MLPBatch:
        return MLPBatch(
            [w.to(device) for w in self.weights],
            [b.to(device) for b in self.biases],
            self.act.to(device),
            self.gate.to(device),
        )


def activate(pre: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
    """sum_k act[..., k] * f_k(pre) for pre [B, P, 7] and act [B, 7, 3]."""
    a = act[:, None]
    return a[..., 0] * torch.sigmoid(pre) + a[..., 1] * torch.tanh(pre) + a[..., 2] * F.leaky_relu(pre, SLOPE)


def forward(mlp: MLPBatch, x: torch.Tensor) -> torch.Tensor:
    """Outputs [B, P] of every network on inputs x [P, 2] (shared) or [B, P, 2] (one set per network)."""
    h = x.expand(len(mlp), *x.shape[-2:]) if x.dim() == 2 else x
    for layer in range(mlp.depth):
        pre = torch.baddbmm(mlp.biases[layer][:, None], h, mlp.weights[layer])
        h = activate(pre, mlp.act[:, layer]) * mlp.gate[:, layer, None]
    return torch.baddbmm(mlp.biases[-1][:, None], h, mlp.weights[-1])[..., 0]


def sample(
    count: int,
    depth: int,
    generator: torch.Generator,
    sparsity: float | None = None,
    mixed_activations: bool = False,
) -> MLPBatch:
    """`count` random networks of `depth`: weights U[-5, 5], biases U[-1, 1], each hidden neuron on with
    probability 1/2 and one of the three activations; a fraction `sparsity` of the weights zeroed (drawn from
    {0, 0.2, 0.4} when None). `mixed_activations` reproduces the authors' generator, which softmaxes the one-hot
    code so each neuron computes 0.576 f_chosen + 0.212 (f_other1 + f_other2)."""
    if not 1 <= depth <= MAX_DEPTH:
        raise SwatError(f"depth must be 1..{MAX_DEPTH}, got {depth}")
    if sparsity is None:
        sparsity = (0.0, 0.2, 0.4)[int(torch.randint(3, (1,), generator=generator))]
    sizes = [INPUTS] + [WIDTH] * depth + [1]
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = torch.rand(count, n_in, n_out, generator=generator) * 10 - 5
        keep = torch.rand(count, n_in, n_out, generator=generator) >= sparsity
        weights.append(w * keep)
        biases.append(torch.rand(count, n_out, generator=generator) * 2 - 1)
    choice = torch.randint(len(ACTS), (count, depth, WIDTH), generator=generator)
    act = F.one_hot(choice, len(ACTS)).float()
    if mixed_activations:
        act = act.softmax(-1)
    gate = (torch.rand(count, depth, WIDTH, generator=generator) < 0.5).float()
    return MLPBatch(weights, biases, act, gate)


def to_net(mlp: MLPBatch, i: int, **meta) -> Net:
    """Network i as a pruned `Net`: off neurons removed, one activation per neuron (argmax of its weights).

    A hidden layer with every neuron off passes nothing on; it is kept as one neuron whose outgoing weights are
    zero, so the Net computes the same (constant) function.
    """
    layers, params = [], {}
    keep_in, dead = torch.arange(INPUTS), False
    for layer in range(mlp.depth + 1):
        w, b = mlp.weights[layer][i], mlp.biases[layer][i]
        keep_out = (mlp.gate[i, layer] >= 0.5).nonzero()[:, 0] if layer < mlp.depth else torch.tensor([0])
        empty = len(keep_out) == 0
        if empty:
            keep_out = torch.tensor([0])
        w = w[keep_in][:, keep_out].T * (0.0 if dead else 1.0)
        params[f"{2 * layer}.weight"], params[f"{2 * layer}.bias"] = w.contiguous(), b[keep_out].clone()
        layers.append(Linear(out_features=len(keep_out)))
        if layer < mlp.depth:
            names = [ACTS[k] for k in mlp.act[i, layer, keep_out].argmax(-1).tolist()]
            layers.append(Activation(fn=names, negative_slope=SLOPE))
        keep_in, dead = keep_out, empty
    spec = ArchSpec(input_shape=(INPUTS,), layers=layers, name=f"swat-mlp-depth{mlp.depth}")
    return Net(spec, params, dict(meta))


def as_batch(mlp: MLPBatch) -> NetBatch:
    """The networks exactly, gates and soft activations included, as plain networks of one spec per depth.

    A hidden layer of 7 neurons becomes 21 units: its pre-activations three times over, copy k under activation
    ACTS[k], and the next layer reads copy k of neuron j with weight gate_j * act_jk times the neuron's outgoing
    weight. So every batch of one depth, sampled, decoded or mid-search, is one NetBatch the rest of the toolkit
    reads (the encoders, the zoo writer); `to_net` instead prunes one network to what it really uses.
    """
    layers: list = []
    params: dict[str, torch.Tensor] = {}
    for layer in range(mlp.depth + 1):
        w, b = mlp.weights[layer].transpose(1, 2), mlp.biases[layer]  # [B, out, in] as nets lay weights out
        if layer > 0:  # read copy k of neuron j: weight times gate_j * act_jk, columns in copy-major order
            scale = (mlp.gate[:, layer - 1, :, None] * mlp.act[:, layer - 1]).transpose(1, 2).flatten(1)
            w = w.repeat(1, 1, len(ACTS)) * scale[:, None]
        if layer < mlp.depth:
            w, b = w.repeat(1, len(ACTS), 1), b.repeat(1, len(ACTS))
        params[f"{len(layers)}.weight"], params[f"{len(layers)}.bias"] = w.contiguous(), b.contiguous()
        layers.append(Linear(out_features=w.shape[1]))
        if layer < mlp.depth:
            layers.append(Activation(fn=[a for a in ACTS for _ in range(WIDTH)], negative_slope=SLOPE))
    spec = ArchSpec(input_shape=(INPUTS,), layers=layers, name=f"swat-mlp-depth{mlp.depth}-unfolded")
    return NetBatch(spec, params)


def active_neurons(mlp: MLPBatch) -> torch.Tensor:
    """Hidden neurons switched on, per network [B]."""
    return (mlp.gate >= 0.5).sum((1, 2))


def nonzero_parameters(mlp: MLPBatch) -> torch.Tensor:
    """Per network [B]: non-zero weights between live units + biases of active neurons + the output bias."""
    live_in = torch.ones(len(mlp), INPUTS, dtype=torch.bool)
    total = torch.zeros(len(mlp), dtype=torch.long)
    for layer in range(mlp.depth + 1):
        last = layer == mlp.depth
        live_out = torch.ones(len(mlp), 1, dtype=torch.bool) if last else mlp.gate[:, layer] >= 0.5
        links = live_in[:, :, None] & live_out[:, None, :] & (mlp.weights[layer] != 0)
        total += links.sum((1, 2)) + live_out.sum(1)
        live_in = live_out
    return total


def stack_tasks(tasks: list[TaskData]) -> tuple[torch.Tensor, torch.Tensor]:
    """Training inputs [T, N, 2] and targets [T, N] of several tasks (cut to the shortest), for batched runs."""
    if any(t.x_train.shape[1:] != (INPUTS,) or t.y_train.shape[1:] != (1,) for t in tasks):
        raise SwatError("SWAT's networks fit 2-input, 1-output regression tasks (inputs [N, 2], targets [N, 1])")
    n = min(len(t.x_train) for t in tasks)
    return torch.stack([t.x_train[:n] for t in tasks]), torch.stack([t.y_train[:n, 0] for t in tasks])


def mse_on_test(net: MLPBatch, tasks: list[TaskData]) -> list[float]:
    """Each MLP's test mean squared error on its own task."""
    with torch.no_grad():
        return [
            (forward(net.index(slice(i, i + 1)), t.x_test[None]) - t.y_test[None, :, 0]).pow(2).mean().item()
            for i, t in enumerate(tasks)
        ]
