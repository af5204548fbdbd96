"""The HyperLSTM experiment (Ha et al.): a character-level language model — LSTM, layer-norm LSTM or HyperLSTM —
trained on a text, scored in bits per character on held-out text."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, PositiveInt

from weightspace.data import load_text
from weightspace.fileio import write_json
from weightspace.hyper import LMConfig, LMTraining, bits_per_char, matched_hidden, parameters_of, train_lm
from weightspace.recipes.base import RecipeConfig

_MODEL = LMConfig.model_fields  # the model's settings keep the model config's defaults


class LanguageModelConfig(RecipeConfig):
    kind: str = _MODEL["kind"].default  # hyper-lstm | ln-lstm | lstm
    text: Path | None = None  # UTF-8 text; None: the standard library's documentation
    hidden: PositiveInt = _MODEL["hidden"].default
    hyper_hidden: PositiveInt = _MODEL["hyper_hidden"].default
    z_dim: PositiveInt = _MODEL["z_dim"].default
    match: str | None = None  # size `hidden` to this kind's parameter count
    training: LMTraining = Field(default_factory=LMTraining)


def model_config(config: LanguageModelConfig, vocab: str) -> LMConfig:
    lm = LMConfig(kind=config.kind, vocab=vocab, hidden=config.hidden, hyper_hidden=config.hyper_hidden,
                  z_dim=config.z_dim)  # fmt: skip
    if config.match:
        budget = parameters_of(lm.model_copy(update={"kind": config.match}))
        lm = lm.model_copy(update={"hidden": matched_hidden(lm, budget)})
    return lm


def run(config: LanguageModelConfig, out: str | Path, device: str = "cpu", on_eval=None) -> dict:
    """Train (resuming from OUT.ckpt.safetensors), save OUT.safetensors, write OUT.result.json; returns the result."""
    out = Path(out).with_suffix("")
    corpus = load_text(config.text)
    lm = model_config(config, corpus.vocab)
    model, history = train_lm(lm, corpus.train, corpus.valid, config.training, f"{out}.ckpt.safetensors", on_eval,
                              device)  # fmt: skip
    path = model.save(out, history=history)
    result = {"kind": config.kind, "parameters": parameters_of(lm), "hidden": lm.hidden,
              "steps": config.training.steps, "valid_bpc": history[-1]["valid_bpc"],
              "test_bpc": bits_per_char(model, corpus.test), "model": str(path)}  # fmt: skip
    write_json(out.with_suffix(".result.json"), {k: v for k, v in result.items() if k != "model"})
    return result
