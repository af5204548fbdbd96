"""Character-level text corpora for language models (HyperLSTM)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from weightspace.errors import DataNotFoundError, WeightspaceError


@dataclass(frozen=True)
class CharCorpus:
    """A text encoded as character ids, split into contiguous train / validation / test parts."""

    name: str
    vocab: str  # character of id i is vocab[i]
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor

    def encode(self, text: str) -> torch.Tensor:
        index = {c: i for i, c in enumerate(self.vocab)}
        unknown = sorted({c for c in text if c not in index})
        if unknown:
            raise WeightspaceError(f"characters not in the corpus vocabulary: {unknown!r}")
        return torch.tensor([index[c] for c in text], dtype=torch.int64)

    def decode(self, ids: torch.Tensor) -> str:
        return "".join(self.vocab[i] for i in ids.tolist())

    def summary(self) -> str:
        return (
            f"{self.name}: {len(self.train):,} / {len(self.valid):,} / {len(self.test):,} characters "
            f"(train / valid / test), vocabulary {len(self.vocab)}"
        )


def stdlib_docs_text() -> str:
    """The Python documentation topics that ship with the standard library (about 465,000 characters)."""
    from pydoc_data.topics import topics

    return "\n".join(topics[k] for k in sorted(topics))


def load_text(path: str | os.PathLike | None = None, valid: float = 0.05, test: float = 0.05) -> CharCorpus:
    """A character corpus from a UTF-8 file, or the standard library's documentation text by default.

    The last `valid + test` fraction of the text is held out, so held-out text never overlaps training text.
    """
    if path is None:
        name, text = "stdlib-docs", stdlib_docs_text()
    else:
        p = Path(path)
        if not p.is_file():
            raise DataNotFoundError(f"text corpus {p} does not exist; pass a UTF-8 text file")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise WeightspaceError(f"{p} is not UTF-8 text ({err}); convert it first") from None
        name = p.stem
    if len(text) < 100:
        raise WeightspaceError(f"text corpus {name} has {len(text)} characters; a language model needs more")
    vocab = "".join(sorted(set(text)))
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.int64)
    n_valid, n_test = int(len(ids) * valid), int(len(ids) * test)
    n_train = len(ids) - n_valid - n_test
    return CharCorpus(name, vocab, ids[:n_train], ids[n_train : n_train + n_valid], ids[n_train + n_valid :])
