"""Every bad command line: exit 2, one line on stderr, no traceback, nothing written. Run in-process (the parser and
the checks before any work are what is tested), over every command group."""

import shutil
from pathlib import Path

import pytest

from weightspace.cli import main
from weightspace.nets import Net, mlp

NOT_COUNTS = ("0", "-1", "abc", "1.5")
NOT_REALS = ("nan", "inf", "-inf", "abc")
NOT_SEEDS = ("-1", "4294967296", "x")
NOT_DEVICES = ("tpu", "cuda:", "gpu0")


def bad_options(prefix: list[str], counts=(), reals=(), seeds=(), devices=(), extra=()) -> list[list[str]]:
    """`prefix` is a valid command line; each case breaks one option of it."""
    cases = [[*prefix, opt, v] for opt in counts for v in NOT_COUNTS]
    cases += [[*prefix, opt, v] for opt in reals for v in NOT_REALS]
    cases += [[*prefix, opt, v] for opt in seeds for v in NOT_SEEDS]
    cases += [[*prefix, opt, v] for opt in devices for v in NOT_DEVICES]
    cases += [[*prefix, "--no-such-option"]]
    return cases + [[*prefix, *e] for e in extra]


def invocations(zoo: str, net: str, file: str) -> list[list[str]]:
    cases = [
        ["info", "--bogus"],
        ["--threads", "0", "info"],
        ["--threads", "x", "info"],
        ["nets", "show", "resnet152"],
        ["nets", "show", "missing.json"],
        ["nets", "show", "missing.safetensors"],
        ["nets", "show", file],
        ["nets", "nope"],
        ["nets", "presets", "extra"],
        ["zoo", "nope"],
        ["zoo", "generate", "--out", "o"],
        ["zoo", "generate", "--preset", "cifar", "--out", "o"],
        ["zoo", "generate", "--preset", "digits-lenet5"],
        ["run", "nope"],
        ["run", "net2net", "bogus=1", "--show"],
        ["run", "net2net", "seeds", "--show"],
        ["run", "net2net"],
        ["zoo", "generate", "--preset", "digits-lenet5", "--out", "o", "--order-groups", "2", "--shared-order"],
        ["zoo", "generate", "--preset", "digits-lenet5", "--out", "o", "--order-groups", "0"],
        ["zoo", "generate", "--preset", "digits-lenet5", "--out", "o", "--kernels", "cudnn"],
        ["zoo", "generate", "--preset", "digits-lenet5", "--config", file, "--out", "o"],
        ["zoo", "generate", "--preset", "digits-lenet5", "--out", file],
        ["zoo", "generate", "--config", "missing.yaml", "--out", "o"],
        ["zoo", "generate", "--config", "bad.yaml", "--out", "o"],
        ["zoo", "generate", "--config", "list.yaml", "--out", "o"],
        ["zoo", "generate", "--preset", "digits-lenet5", "--data", "missing-dir", "--out", "o"],
        ["zoo", "generate", "--preset", "digits-lenet5", "--workers", "2", "--dask", "tcp://x:1", "--out", "o"],
        ["zoo", "generate", "--preset", "digits-lenet5", "--device", "cuda:99", "--out", "o"],
        ["zoo", "info", "missing-dir"],
        ["zoo", "info", file],
        ["zoo", "info", "."],
        ["zoo", "info", zoo, "--plot", zoo],
        ["zoo", "verify"],
        ["zoo", "verify", "missing-dir"],
        ["zoo", "classify", zoo, "--target", "colour"],
        ["zoo", "inr", "--dataset", "cifar10", "--out", "o"],
        ["zoo", "inr", "--dataset", "digits", "--per-class", "999", "--out", "o"],
        ["zoo", "inr", "--dataset", "digits", "--out", file],
        ["zoo", "show-inr", zoo, "--out", "grid.png"],
        ["zoo", "show-inr", "missing-dir", "--out", "grid.png"],
        ["zoo", "show-inr", zoo, "--out", zoo],
        ["zoo", "import", "onnx", zoo, "--out", "o"],
        ["zoo", "import", "small-cnn", "missing-dir", "--out", "o"],
        ["zoo", "import", "safetensors-dir", zoo, "--out", "o", "--arch", "resnet"],
        ["zoo", "import", "safetensors-dir", zoo, "--out", "o", "--arch", "missing.json"],
        ["zoo", "export", "onnx", zoo, "--out", "o"],
        ["zoo", "export", "small-cnn", "missing-dir", "--out", "o"],
        ["zoo", "export", "small-cnn", zoo, "--out", file],
        ["grow", "wider", "missing.safetensors", "--layer", "0", "--width", "9", "--out", "g.safetensors"],
        ["grow", "wider", net, "--layer", "0", "--width", "9"],
        ["grow", "wider", net, "--layer", "0", "--width", "9", "--out", zoo],
        ["grow", "wider", file, "--layer", "0", "--width", "9", "--out", "g.safetensors"],
        ["grow", "wider", zoo, "--layer", "0", "--width", "40", "--model", "999", "--out", "g.safetensors"],
        ["grow", "deeper", net, "--out", "g.safetensors"],
        ["grow", "experiment", "--dataset", "cifar10", "--out", "e"],
        ["encode", "train", "--zoo", "missing-dir"],
        ["encode", "train", "--zoo", zoo, "--encoder", "resnet"],
        ["encode", "train", "--zoo", zoo, "--target", "colour"],
        ["encode", "train", "--zoo", zoo, "--task", "ranking"],
        ["encode", "train", "--zoo", zoo, "--augment", "rotate"],
        ["encode", "eval", "missing", "--zoo", zoo],
        ["encode", "eval", net, "--zoo", zoo],
        ["encode", "eval", zoo, "--zoo", zoo],
        ["encode", "embed", "missing", "--zoo", zoo],
        ["hyper", "train", "static", "--dataset", "cifar10"],
        ["hyper", "train", "lstm", "--text", "missing.txt"],
        ["hyper", "train", "lstm", "--kind", "gru", "--steps", "1"],
        ["hyper", "generate", "missing", "--out", "o"],
        ["hyper", "eval", "missing"],
        ["hyper", "sample", "missing"],
        ["hyper", "train", "generator", "--zoo", "missing-dir"],
        ["swat", "search", "--task", "cornn:nope", "--ae", "missing"],
        ["swat", "search"],
        ["swat", "bench", "--depths", "0,9"],
        ["swat", "bench", "--depths", "one"],
        ["demo", "--out", file],
        ["zoo", "info", zoo, "--plot", "x.bogus"],
        ["zoo", "classify", zoo, "--plot", "c.txt"],
        ["zoo", "show-inr", zoo, "--out", "grid.txt"],
        ["zoo", "generate", "--preset", "digits-lenet5", "--per-task", "1000000000", "--out", "o"],
        ["zoo", "inr", "--dataset", "digits", "--batch", "1000000000", "--out", "o"],
        ["zoo", "sine-inr", "--networks", "1000000000", "--out", "o"],
        ["zoo", "sine-inr", "--networks", "9000000", "--out", "o"],  # more memory than any machine of ours
        ["grow", "wider", net, "--layer", "0", "--width", "1000000000", "--out", "g.safetensors"],
        ["encode", "train", "--zoo", zoo, "--target", "task", "--task", "regression"],
        ["encode", "embed", "missing", "--zoo", zoo, "--name", "../../escaped"],
        ["encode", "embed", "missing", "--zoo", zoo, "--name", ".hidden"],
        ["swat", "train", "autoencoder", "--d", "7"],
    ]
    cases += bad_options(["demo"], counts=["--per-task", "--epochs", "--workers"])
    cases += bad_options(
        ["zoo", "generate", "--preset", "digits-lenet5", "--out", "o"],
        counts=["--per-task", "--epochs", "--shard-size", "--workers"], seeds=["--seed"], devices=["--device"],
    )  # fmt: skip
    cases += bad_options(["zoo", "classify", zoo], seeds=["--seed"])
    cases += bad_options(
        ["zoo", "inr", "--dataset", "digits", "--out", "o"],
        counts=["--per-class", "--steps", "--shard-size", "--batch"], reals=["--stop-psnr"], seeds=["--seed"],
        devices=["--device"], extra=[["--stop-psnr", "0"]],
    )  # fmt: skip
    cases += bad_options(["zoo", "show-inr", zoo, "--out", "grid.png"], counts=["--count"], extra=[["--count", "999"]])
    cases += bad_options(
        ["zoo", "sine-inr", "--out", "o"], counts=["--networks", "--steps"], seeds=["--seed"], devices=["--device"]
    )
    cases += bad_options(
        ["grow", "wider", net, "--layer", "0", "--width", "9", "--out", "g.safetensors"],
        counts=["--width"], reals=["--noise"], seeds=["--seed"],
    )  # fmt: skip
    cases += bad_options(["grow", "deeper", net, "--after", "0", "--out", "g.safetensors"], counts=["--kernel-size"])
    cases += bad_options(
        ["grow", "experiment", "--out", "e"],
        counts=["--train-size", "--teacher-epochs", "--student-epochs"], reals=["--student-lr"], seeds=["--seed"],
        devices=["--device"],
    )  # fmt: skip
    cases += bad_options(
        ["encode", "train", "--zoo", zoo],
        counts=["--epochs", "--batch-size", "--width", "--depth", "--dim"], reals=["--lr", "--li-weight"],
        seeds=["--seed"], devices=["--device"],
    )  # fmt: skip
    cases += bad_options(["encode", "eval", net, "--zoo", zoo], seeds=["--seed"], extra=[["--split", "holdout"]])
    cases += bad_options(
        ["hyper", "train", "static"], counts=["--epochs", "--z-dim"], seeds=["--seed"], devices=["--device"]
    )
    cases += bad_options(
        ["hyper", "train", "lstm"],
        counts=["--hidden", "--hyper-hidden", "--steps", "--seq-len", "--batch"], reals=["--lr"], seeds=["--seed"],
        devices=["--device"],
    )  # fmt: skip
    cases += bad_options(
        ["hyper", "train", "generator", "--zoo", zoo],
        counts=["--steps", "--components", "--per-class"], reals=["--functional-weight"], seeds=["--seed"],
        devices=["--device"],
    )  # fmt: skip
    cases += bad_options(["hyper", "generate", net, "--out", "o"], counts=["--per-class"], seeds=["--seed"])
    cases += bad_options(["hyper", "sample", net], counts=["--length"], reals=["--temperature"], seeds=["--seed"])
    cases += bad_options(
        ["swat", "train", "autoencoder"],
        counts=["--steps", "--d", "--encoder-layers", "--decoder-layers"], reals=["--lr"], seeds=["--seed"],
        devices=["--device"],
    )  # fmt: skip
    cases += bad_options(
        ["swat", "search", "--task", "cornn:ackley"],
        counts=["--steps", "--depth"], seeds=["--seed"], devices=["--device"], extra=[["--depth", "9"]],
    )  # fmt: skip
    cases += bad_options(["swat", "bench"], reals=["--steps-scale"], devices=["--device"])
    return cases


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A zoo big enough to train an encoder on (21 networks), a saved network and a plain file, outside the folder
    the commands run in."""
    from tests.conftest import make_tiny_config
    from weightspace.zoo import generate

    base = tmp_path_factory.mktemp("inputs")
    zoo = generate(
        make_tiny_config().model_copy(update={"per_task": 7, "shard_size": 21, "checkpoints": None}), base / "zoo"
    ).root
    Net.init(mlp(6, [5], 2, activation="relu"), 0).save(base / "net.safetensors")
    (base / "plain.txt").write_text("not a network")
    return str(zoo), str(base / "net.safetensors"), str(base / "plain.txt")


def snapshot(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_at_least_150_bad_invocations_across_every_group():
    cases = invocations("Z", "N", "F")
    assert len(cases) >= 150
    assert {c[0] for c in cases} >= {"info", "demo", "nets", "zoo", "grow", "encode", "hyper", "swat"}


CASES = invocations("{zoo}", "{net}", "{file}")


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(c) for c in CASES])
def test_bad_invocation_is_one_line_exit_2_and_writes_nothing(argv, inputs, tmp_path, monkeypatch, capsys):
    zoo, net, file = inputs
    argv = [a.format(zoo=zoo, net=net, file=file) for a in argv]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("name: x\narch: [unclosed\n")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    before, inputs_before = snapshot(tmp_path), snapshot(Path(zoo).parent)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before and snapshot(Path(zoo).parent) == inputs_before
    shutil.rmtree(tmp_path / "o", ignore_errors=True)


def test_threads_sets_torchs_thread_count(capsys):
    import torch

    before = torch.get_num_threads()
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["--threads", "1", "nets", "presets"])
        assert exit_.value.code == 0 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
