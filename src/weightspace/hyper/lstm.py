"""HyperLSTM (Ha et al.'s dynamic hypernetwork) and the character-level language models it is compared in.

A small LSTM reads [x_t, h_{t-1}] of the main LSTM; from its state come per-gate embeddings z_h, z_x, z_b, and from
those per-timestep scaling vectors:  gate = LN( d_h(z_h) * W_h h_{t-1} + d_x(z_x) * W_x x_t + b(z_b) ).
The maps z -> d start at the constant 0.1 / N_z and z starts at 1, so every scaling vector starts at 0.1.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict
from torch import nn

from weightspace.fileio import SavedModel
from weightspace.hyper.api import HyperError
from weightspace.nets import count_parameters
from weightspace.seeding import seeded
from weightspace.train import run_steps

Kind = Literal["lstm", "ln-lstm", "hyper-lstm"]


class GateNorm(nn.Module):
    """Layer normalisation of each gate's pre-activation separately (4 gates x hidden)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(4, hidden))
        self.shift = nn.Parameter(torch.zeros(4, hidden))

    def forward(self, pre: torch.Tensor) -> torch.Tensor:  # [B, 4, H]
        return F.layer_norm(pre, pre.shape[-1:]) * self.gain + self.shift


class LNLSTMCell(nn.Module):
    """An LSTM cell with layer-normalised gates and cell state; `scale` lets a hypernetwork modulate it."""

    def __init__(self, input_size: int, hidden: int, layer_norm: bool = True):
        super().__init__()
        self.hidden = hidden
        self.w_x = nn.Linear(input_size, 4 * hidden, bias=False)
        self.w_h = nn.Linear(hidden, 4 * hidden, bias=False)
        self.bias = nn.Parameter(torch.zeros(4, hidden))
        with torch.no_grad():
            self.bias[2].fill_(1.0)  # forget gate starts open
        self.norm = GateNorm(hidden) if layer_norm else None
        self.norm_c = nn.LayerNorm(hidden) if layer_norm else None

    def step(self, x, h, c, d_x=1.0, d_h=1.0, bias=None):
        b = x.shape[0]
        pre = d_h * self.w_h(h).view(b, 4, -1) + d_x * self.w_x(x).view(b, 4, -1)
        pre = pre + (self.bias if bias is None else bias)
        if self.norm is not None:
            pre = self.norm(pre)
        i, g, f, o = pre.unbind(1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(self.norm_c(c) if self.norm_c is not None else c)
        return h, c

    def initial(self, batch: int, device) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(batch, self.hidden, device=device),) * 2

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...] | None = None):
        """x [B, T, input] -> outputs [B, T, H], final state."""
        h, c = state or self.initial(x.shape[0], x.device)
        outs = []
        for t in range(x.shape[1]):
            h, c = self.step(x[:, t], h, c)
            outs.append(h)
        return torch.stack(outs, 1), (h, c)


class HyperLSTMCell(LNLSTMCell):
    """Ha et al.'s HyperLSTM cell: a small LSTM writes per-step scales of the main LSTM's weights."""

    def __init__(self, input_size: int, hidden: int, hyper_hidden: int = 64, z_dim: int = 4, layer_norm: bool = True):
        super().__init__(input_size, hidden, layer_norm)
        self.z_dim = z_dim
        self.hyper = nn.LSTMCell(input_size + hidden, hyper_hidden)
        self.to_z = nn.Linear(hyper_hidden, 3 * 4 * z_dim)  # z_h, z_x, z_b for each of the 4 gates
        self.d_h = nn.Parameter(torch.full((4, z_dim, hidden), 0.1 / z_dim))
        self.d_x = nn.Parameter(torch.full((4, z_dim, hidden), 0.1 / z_dim))
        self.d_b = nn.Parameter(torch.randn(4, z_dim, hidden) * 0.01)
        with torch.no_grad():
            w = self.to_z.weight.view(3, 4 * z_dim, hyper_hidden)
            b = self.to_z.bias.view(3, 4 * z_dim)
            w[:2].zero_()
            b[:2].fill_(1.0)  # z_h = z_x = 1 at the start
            w[2].normal_(0, 0.01)
            b[2].zero_()

    def initial(self, batch: int, device) -> tuple[torch.Tensor, ...]:
        zeros = torch.zeros
        return (zeros(batch, self.hidden, device=device),) * 2 + (
            zeros(batch, self.hyper.hidden_size, device=device),
        ) * 2

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...] | None = None):
        h, c, hh, hc = state or self.initial(x.shape[0], x.device)
        outs = []
        for t in range(x.shape[1]):
            hh, hc = self.hyper(torch.cat([x[:, t], h], 1), (hh, hc))
            z = self.to_z(hh).view(-1, 3, 4, self.z_dim)
            d_h = torch.einsum("bgz,gzh->bgh", z[:, 0], self.d_h)
            d_x = torch.einsum("bgz,gzh->bgh", z[:, 1], self.d_x)
            bias = torch.einsum("bgz,gzh->bgh", z[:, 2], self.d_b) + self.bias
            h, c = self.step(x[:, t], h, c, d_x, d_h, bias)
            outs.append(h)
        return torch.stack(outs, 1), (h, c, hh, hc)


class LMConfig(BaseModel):
    """A character language model: cell kind, vocabulary, embedding and hidden sizes, the hypernetwork's
    size and N_z."""

    model_config = ConfigDict(extra="forbid")
    kind: Kind = "hyper-lstm"
    vocab: str = ""  # filled from the corpus: character of id i is vocab[i]
    embed: int = 32
    hidden: int = 128
    hyper_hidden: int = 32
    z_dim: int = 4


class CharLM(SavedModel, nn.Module):
    """Characters -> embedding -> (LSTM | LN-LSTM | HyperLSTM) -> next-character logits."""

    HEADER, KIND, HINT = "weightspace.lm", "language model", "weightspace hyper train lstm"
    CONFIG, ERROR = LMConfig, HyperError

    def __init__(self, config: LMConfig):
        super().__init__()
        self.config = config
        v = len(config.vocab)
        self.embed = nn.Embedding(v, config.embed)
        if config.kind == "lstm":
            self.rnn = nn.LSTM(config.embed, config.hidden, batch_first=True)
        elif config.kind == "ln-lstm":
            self.rnn = LNLSTMCell(config.embed, config.hidden)
        else:
            self.rnn = HyperLSTMCell(config.embed, config.hidden, config.hyper_hidden, config.z_dim)
        self.out = nn.Linear(config.hidden, v)

    def forward(self, ids: torch.Tensor, state=None):
        h, state = self.rnn(self.embed(ids), state)
        return self.out(h), state

    @torch.no_grad()
    def sample(self, prime: str, length: int, temperature: float = 1.0, seed: int = 0) -> str:
        """`prime` followed by `length` characters drawn one at a time."""
        self.eval()
        index = {c: i for i, c in enumerate(self.config.vocab)}
        prime = prime or "\n"
        unknown = sorted({c for c in prime if c not in index})
        if unknown:
            raise HyperError(f"the prime uses characters the model never saw: {unknown!r}")
        ids = torch.tensor([[index[c] for c in prime]])
        gen = torch.Generator().manual_seed(seed)
        logits, state = self(ids)
        out = []
        for _ in range(length):
            p = torch.softmax(logits[0, -1] / max(temperature, 1e-6), -1)
            nxt = torch.multinomial(p, 1, generator=gen)
            out.append(self.config.vocab[nxt.item()])
            logits, state = self(nxt.view(1, 1), state)
        return prime + "".join(out)


def parameters_of(config: LMConfig) -> int:
    """The parameters of the language model a config builds."""
    return count_parameters(CharLM(config))


def matched_hidden(config: LMConfig, budget: int) -> int:
    """The largest hidden size whose model has at most `budget` parameters (same kind, embed and vocab)."""
    lo, hi = 1, 4096
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if parameters_of(config.model_copy(update={"hidden": mid})) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def streams(ids: torch.Tensor, batch: int) -> torch.Tensor:
    """[batch, len // batch]: the text cut into `batch` contiguous streams, read in parallel (truncated BPTT)."""
    n = len(ids) // batch
    return ids[: n * batch].view(batch, n)


@torch.no_grad()
def bits_per_char(model: CharLM, ids: torch.Tensor, seq_len: int = 200, batch: int = 16) -> float:
    """The model's mean bits per character over `ids`, read in windows of `seq_len`."""
    model.eval()
    data = streams(ids, batch).to(next(model.parameters()).device)
    state, total, count = None, 0.0, 0
    for i in range(0, data.shape[1] - 1, seq_len):
        x, y = data[:, i : i + seq_len], data[:, i + 1 : i + 1 + seq_len]
        x = x[:, : y.shape[1]]
        logits, state = model(x, state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    return total / count / math.log(2)


class LMTraining(BaseModel):
    """How a character language model is trained: steps, sequence length, batch, learning rate, clipping,
    evaluation interval and seed."""

    model_config = ConfigDict(extra="forbid")
    steps: int = 2000
    seq_len: int = 100
    batch: int = 32
    lr: float = 2e-3
    clip: float = 1.0
    eval_every: int = 250
    seed: int = 0


def train_lm(
    config: LMConfig,
    train_ids: torch.Tensor,
    valid_ids: torch.Tensor,
    training: LMTraining,
    checkpoint: str | None = None,
    on_eval=None,
    device: str = "cpu",
) -> tuple[CharLM, list[dict]]:
    """Adam with truncated backprop through time over `batch` parallel streams; validation bits/char every
    `eval_every` steps. With `checkpoint`, progress is saved at every evaluation and a rerun resumes there
    (the carried hidden state is saved too, so a resumed run matches an uninterrupted one)."""
    with seeded(training.seed, "cpu"):  # the caller's random state is left alone
        model = CharLM(config).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=training.lr)
        data = streams(train_ids, training.batch).to(device)
        per_pass = (data.shape[1] - 1) // training.seq_len
        if per_pass < 1:
            raise HyperError(f"the training text is too short for {training.batch} streams of {training.seq_len} chars")

        def step(i: int, carried: dict) -> tuple[torch.Tensor, dict]:
            model.train()
            j = (i % per_pass) * training.seq_len
            state = None if j == 0 else (tuple(carried[str(k)] for k in range(len(carried))) or None)
            x, y = data[:, j : j + training.seq_len], data[:, j + 1 : j + 1 + training.seq_len]
            logits, state = model(x, state)
            carried.clear()
            carried.update({str(k): s.detach() for k, s in enumerate(state)})  # truncated BPTT: carry, detached
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            return loss, {"train_bpc": loss.item() / math.log(2)}

        def summarise(done: int, rows: list[dict]) -> dict:
            train_bpc = sum(r["train_bpc"] for r in rows) / len(rows)
            return {"step": done, "train_bpc": train_bpc, "valid_bpc": bits_per_char(model, valid_ids)}

        history = run_steps(
            model, opt, training.steps, step, training.eval_every, summarise, checkpoint,
            on_log=on_eval, clip=training.clip,
        )  # fmt: skip
        return model.cpu().eval(), history
