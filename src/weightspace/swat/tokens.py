"""SWAT-NN's token representation of an MLP: one row per neuron index (7), 56 columns, 2 channels.

For a depth-L network the columns are, left to right, per layer l = 0..L: W_l as (in x out) padded to 7 x 7
(7 columns), the bias of layer l (1 column) and, for hidden layers, the activation code (3 columns); then L columns
of on/off flags. That is 12 L + 8 columns, padded to 56. Channel 1 marks real entries (1) against padding (0).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from weightspace.swat.mlps import ACTS, INPUTS, MAX_DEPTH, WIDTH, MLPBatch, SwatError

COLUMNS = 12 * MAX_DEPTH + 8  # 56


@dataclass(frozen=True)
class TokenSlot:
    """One field of the layout: rows [0, rows) x columns [col, col + cols)."""

    name: str  # "w0", "b0", "a0", ..., "gate"
    col: int
    rows: int
    cols: int


def token_layout(depth: int) -> list[TokenSlot]:
    """The blocks of a depth-`depth` network, in column order."""
    if not 1 <= depth <= MAX_DEPTH:
        raise SwatError(f"depth must be 1..{MAX_DEPTH}, got {depth}")
    blocks, col = [], 0
    for layer in range(depth + 1):
        hidden = layer < depth
        blocks.append(TokenSlot(f"w{layer}", col, INPUTS if layer == 0 else WIDTH, WIDTH if hidden else 1))
        blocks.append(TokenSlot(f"b{layer}", col + WIDTH, WIDTH if hidden else 1, 1))
        col += WIDTH + 1
        if hidden:
            blocks.append(TokenSlot(f"a{layer}", col, WIDTH, len(ACTS)))
            col += len(ACTS)
    blocks.append(TokenSlot("gate", col, WIDTH, depth))
    return blocks


def mask(depth: int) -> torch.Tensor:
    """[7, 56] with 1 at the real entries of a depth-`depth` network."""
    m = torch.zeros(WIDTH, COLUMNS)
    for b in token_layout(depth):
        m[: b.rows, b.col : b.col + b.cols] = 1
    return m


def tokenise(mlp: MLPBatch) -> torch.Tensor:
    """[B, 7, 56, 2]: values and the real-entry mask."""
    fields = _fields(mlp)
    values = torch.zeros(len(mlp), WIDTH, COLUMNS, device=mlp.act.device)
    for b in token_layout(mlp.depth):
        values[:, : b.rows, b.col : b.col + b.cols] = fields[b.name]
    return torch.stack([values, mask(mlp.depth).to(values.device).expand_as(values)], -1)


def parse(values: torch.Tensor, depth: int) -> MLPBatch:
    """Read tokens [B, 7, 56] (or [B, 7, 56, 2]) with the depth-`depth` layout. Values are taken as they are:
    a decoder's activation and gate entries are logits, to be squashed by the caller (`soften`)."""
    if values.dim() == 4:
        values = values[..., 0]
    if values.shape[1:] != (WIDTH, COLUMNS):
        raise SwatError(f"tokens must be [B, {WIDTH}, {COLUMNS}], got {list(values.shape)}")
    part = {b.name: values[:, : b.rows, b.col : b.col + b.cols] for b in token_layout(depth)}
    weights = [part[f"w{layer}"] for layer in range(depth + 1)]
    biases = [part[f"b{layer}"][..., 0] for layer in range(depth + 1)]
    act = torch.stack([part[f"a{layer}"] for layer in range(depth)], 1)
    return MLPBatch(weights, biases, act, part["gate"].transpose(1, 2))


def soften(mlp: MLPBatch, temperature: float = 1.0) -> MLPBatch:
    """Decoder logits as a network: activation weights softmax(logit / T), gates sigmoid(logit)."""
    return MLPBatch(mlp.weights, mlp.biases, (mlp.act / temperature).softmax(-1), torch.sigmoid(mlp.gate))


def _fields(mlp: MLPBatch) -> dict[str, torch.Tensor]:
    out = {"gate": mlp.gate.transpose(1, 2)}
    for layer in range(mlp.depth + 1):
        out[f"w{layer}"] = mlp.weights[layer]
        out[f"b{layer}"] = mlp.biases[layer][..., None]
        if layer < mlp.depth:
            out[f"a{layer}"] = mlp.act[:, layer]
    return out
