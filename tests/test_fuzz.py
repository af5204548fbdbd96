"""Fuzzing, bounded in time: random bytes and random mutations of every importer's real input files, and random
values for every command's flags. Each run ends in success or in one clear line (exit 2), never a traceback."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile import SEED_FIXTURE, model_zoo_folder, smallcnn_folder
from weightspace.cli import main
from weightspace.nets import Net, mlp

FUZZ = settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)


def keras_run(folder: Path) -> tuple[Path, list[str]]:
    """The seed's own Keras file (written by Keras 2.15)."""
    (folder / "in").mkdir()
    target = folder / "in" / "binary_oneVall_tench_0_model.h5"
    shutil.copy(SEED_FIXTURE / "binary_oneVall_tench_0_model.h5", target)
    return target, ["seed-keras"]


def torch_state_dict(folder: Path) -> tuple[Path, list[str]]:
    """A state dict written by torch.save."""
    (folder / "in").mkdir()
    torch.save(torch.nn.Linear(4, 3).state_dict(), folder / "in" / "a.pt")
    (folder / "spec.json").write_text(mlp(4, [], 3).to_json())
    return folder / "in" / "a.pt", ["state-dicts", "--arch", str(folder / "spec.json")]


def net_file(folder: Path) -> tuple[Path, list[str]]:
    (folder / "in").mkdir()
    Net.init(mlp(4, [3], 2), 0, model_id=0, task="a").save(folder / "in" / "a.safetensors")
    return folder / "in" / "a.safetensors", ["safetensors-dir"]


def smallcnn(name: str):
    def make(folder: Path) -> tuple[Path, list[str]]:
        return smallcnn_folder(folder) / name, ["small-cnn"]

    return make


def model_zoo(name: str):
    def make(folder: Path) -> tuple[Path, list[str]]:
        root = model_zoo_folder(
            folder, {"model::type": "MLP", "model::i_dim": 2, "model::h_dim": [], "model::o_dim": 1}
        )
        return next(root.rglob(name)), ["model-zoo"]

    return make


def model_zoo_results(folder: Path) -> tuple[Path, list[str]]:
    root = model_zoo_folder(folder, {"model::type": "MLP", "model::i_dim": 2, "model::h_dim": [], "model::o_dim": 1})
    path = next(root.rglob("params.json")).with_name("result.json")
    path.write_text('{"training_iteration": 1, "test_acc": 0.5}\n{"training_iteration": 2, "test_acc": 0.6}\n')
    return path, ["model-zoo"]


def inr_splits(folder: Path) -> tuple[Path, list[str]]:
    """DWSNets' splits JSON beside per-image INR state dicts."""
    from weightspace.train import siren_spec

    shapes = siren_spec().state_shapes()
    for label in ("0", "1"):
        (folder / "in" / label).mkdir(parents=True)
        torch.save({f"seq.{k}": torch.zeros(s) for k, s in shapes.items()}, folder / "in" / label / "a.pth")
    path = folder / "in" / "splits.json"
    path.write_text('{"train": {"path": ["in/0/a.pth"], "label": [0]}, "test": {"path": ["in/1/a.pth"], "label": [1]}}')
    return path, ["inr-dir"]


FILES = {
    "result.json": model_zoo_results,
    "splits.json": inr_splits,
    "keras-h5": keras_run,
    "torch": torch_state_dict,
    "safetensors": net_file,
    "layout.csv": smallcnn("layout.csv"),
    "metrics.csv.gz": smallcnn("metrics.csv.gz"),
    "weights.npy": smallcnn("weights.npy"),
    "params.json": model_zoo("params.json"),
    "model-zoo checkpoint": model_zoo("checkpoints"),
}


@st.composite
def mutation(draw, data: bytes) -> bytes:
    """Random bytes, or the real file with a few bytes flipped, a slice cut out, or a tail cut off."""
    kind = draw(st.sampled_from(["random", "flip", "cut", "truncate"]))
    if kind == "random" or not data:
        return draw(st.binary(max_size=2048))
    data = bytearray(data)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    elif kind == "cut":
        i = draw(st.integers(0, len(data) - 1))
        del data[i : i + draw(st.integers(1, 64))]
    else:
        del data[draw(st.integers(0, len(data) - 1)) :]
    return bytes(data)


def one_clear_line(argv: list[str], capsys) -> None:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code in (0, 2), err
    if exit_.value.code == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_mutated_input_file_imports_or_is_refused_in_one_line(name, capsys):
    @FUZZ
    @given(data=st.data())
    def check(data):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            path, args = FILES[name](folder)
            path.write_bytes(data.draw(mutation(path.read_bytes())))
            one_clear_line(["zoo", "import", args[0], str(folder / "in"), "--out", str(folder / "out"), *args[1:]],
                           capsys)  # fmt: skip

    check()


TEXT = st.one_of(
    st.integers(-3, 3).map(str),  # small or huge, never a medium amount of real work
    st.integers(10**12, 2**70).map(str),
    st.integers(-(2**70), -(10**12)).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30),
    st.sampled_from(["../../x", "/etc/passwd", "x.bogus", "", "-1", "1e400", "cuda:99"]),
)
# a valid, quick command line per command, and the flags a user can set there
COMMANDS = {
    ("nets", "show"): (["nets", "show", "lenet5-seed"], []),
    ("zoo", "info"): (["zoo", "info", "{zoo}"], ["--plot"]),
    ("zoo", "classify"): (["zoo", "classify", "{zoo}"], ["--target", "--seed", "--plot"]),
    ("zoo", "verify"): (["zoo", "verify", "{zoo}"], []),
    ("zoo", "export"): (["zoo", "export", "small-cnn", "{zoo}", "--out", "{out}"], []),
    ("zoo", "generate"): (["zoo", "generate", "--preset", "digits-lenet5", "--out", "{out}"],
                          ["--per-task", "--epochs", "--shard-size", "--seed", "--workers", "--device"]),
    ("zoo", "inr"): (["zoo", "inr", "--dataset", "digits", "--out", "{out}"],
                     ["--per-class", "--steps", "--stop-psnr", "--shard-size", "--batch", "--seed", "--device"]),
    ("zoo", "sine-inr"): (["zoo", "sine-inr", "--out", "{out}"], ["--networks", "--steps", "--seed", "--device"]),
    ("grow", "wider"): (["grow", "wider", "{net}", "--layer", "0", "--out", "{out}/g.safetensors"],
                        ["--width", "--noise", "--seed", "--layer"]),
    ("grow", "deeper"): (["grow", "deeper", "{net}", "--after", "0", "--out", "{out}/g.safetensors"],
                         ["--after", "--kernel-size"]),
    ("encode", "train"): (["encode", "train", "--zoo", "{zoo}"],
                          ["--target", "--encoder", "--task", "--epochs", "--batch-size", "--lr", "--width", "--dim",
                           "--depth", "--seed", "--device"]),
    ("encode", "embed"): (["encode", "embed", "{out}/missing", "--zoo", "{zoo}"], ["--name"]),
    ("swat", "train"): (["swat", "train", "autoencoder"], ["--steps", "--d", "--lr", "--seed", "--device"]),
    ("hyper", "train"): (["hyper", "train", "lstm"], ["--hidden", "--steps", "--seq-len", "--batch", "--lr"]),
}  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from tests.conftest import make_tiny_config
    from weightspace.zoo import generate

    base = tmp_path_factory.mktemp("fuzz-inputs")
    zoo = generate(make_tiny_config().model_copy(update={"per_task": 7, "shard_size": 21}), base / "zoo").root
    Net.init(mlp(6, [5], 2, activation="relu"), 0).save(base / "net.safetensors")
    return str(zoo), str(base / "net.safetensors")


def quick(argv: list[str]) -> list[str]:
    """Keep a command that a random value made valid cheap: the fewest networks, epochs and steps."""
    small = {("zoo", "generate"): ["--per-task", "1", "--epochs", "1"],
             ("zoo", "inr"): ["--per-class", "1", "--steps", "2"],
             ("zoo", "sine-inr"): ["--networks", "2", "--steps", "2"], ("encode", "train"): ["--epochs", "1"],
             ("swat", "train"): ["--steps", "1"], ("hyper", "train"): ["--steps", "1", "--hidden", "8"]}  # fmt: skip
    extra, out = small.get(tuple(argv[:2]), []), list(argv)
    for flag, value in zip(extra[::2], extra[1::2]):
        if flag not in argv:
            out += [flag, value]
    return out


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_random_flag_values_run_or_are_refused_in_one_line(command, inputs, capsys, monkeypatch, tmp_path):
    base, flags = COMMANDS[command]
    zoo, net = inputs
    monkeypatch.chdir(tmp_path)

    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(st.lists(st.tuples(st.sampled_from(flags), TEXT), max_size=2) if flags else st.just([]))
    def check(values):
        with tempfile.TemporaryDirectory() as out:
            argv = [a.format(zoo=zoo, net=net, out=out) for a in base]
            argv += [x for flag, value in values for x in (flag, value)]
            one_clear_line(quick(argv), capsys)

    check()
