"""Real zoos in: the seed's Keras files (written by Keras itself, tests/data/seed-keras), Keras-3 weight trees written
here in the exact layout, PyTorch state dicts, Schürholt et al.'s trial folders and DWSNets' INR folders; and out:
the small-CNN layout as nfn's experiments read it and a Hugging Face Parquet folder."""

import ast
import gzip
import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from weightspace.errors import WeightspaceError
from weightspace.nets import Net, init_net, lenet5_seed, small_cnn, spec_of
from weightspace.zoo import Zoo, generate, verify
from weightspace.zoo.formats import detect_format, export_zoo, import_zoo
from weightspace.zoo.formats.keras import keras_to_torch, torch_to_keras
from weightspace.zoo.formats.keras_h5 import read_keras
from weightspace.zoo.formats.seed_keras import parse_name
from weightspace.zoo.formats.torchfiles import load_state_dict, model_zoo_spec

FIXTURES = Path(__file__).parent.parent / "data" / "seed-keras"
RUNS = ("keras2-tf2.15", "keras3-tf2.21")


def seed_forward(params: dict, x_nhwc: np.ndarray) -> np.ndarray:
    net = Net(lenet5_seed(), params)
    return net(torch.from_numpy(x_nhwc).permute(0, 3, 1, 2).float()).reshape(-1).numpy()


# -- the seed's own files ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("run", RUNS)
def test_every_seed_file_reproduces_keras_float32_predictions(run):
    expected = np.load(FIXTURES / run / "keras_float32_predictions.npz")
    x = expected["x_nhwc"]
    files = sorted((FIXTURES / run).rglob("*.h5"))
    assert len(files) == (9 if run.startswith("keras2") else 6)
    for path in files:
        key = str(path.relative_to(FIXTURES / run)).replace("/", "__")
        layers, info = read_keras(path)
        got = seed_forward(keras_to_torch(lenet5_seed(), layers), x)
        assert np.abs(got - expected[key]).max() < 1e-5, key
        assert info["stored"] == "float32"


@pytest.mark.parametrize("run", RUNS)
def test_a_seed_run_imports_as_one_network_per_class_and_count(run, tmp_path):
    folder = FIXTURES / run
    assert detect_format(folder) == "seed-keras"
    zoo = import_zoo("auto", folder, tmp_path / "zoo")
    t = zoo.table
    assert verify(zoo.root) == []
    assert list(t.drop_duplicates("model_id")["task"]) == ["tench", "church", "parachute"]
    assert set(t["replicate"]) == {0} and not t.duplicated(["model_id", "epoch"]).any()
    final = t[t["checkpoint"] == "final"].set_index("task")
    csv = pd.read_csv(folder / "model_performance_metrics.csv").set_index("Class")
    for task in ("tench", "church", "parachute"):
        assert final.loc[task, "test_accuracy"] == pytest.approx(csv.loc[task, "Accuracy"])
        assert final.loc[task, "test_f1"] == pytest.approx(csv.loc[task, "F1 Score"])
        assert final.loc[task, "test_auc"] == pytest.approx(csv.loc[task, "AUC"])
    expected = np.load(folder / "keras_float32_predictions.npz")
    for i in range(len(zoo)):
        net = zoo.net(i)
        key = net.meta["file"].replace("/", "__")
        assert np.abs(seed_forward(net.params, expected["x_nhwc"]) - expected[key]).max() < 1e-5
    if run.startswith("keras2"):  # model + weights files of one network: one row; the epoch-1 checkpoint: another
        assert len(t) == 6 and sorted(set(t["epoch"])) == [1, 20]
        assert set(t[t["epoch"] == 1]["checkpoint"]) == {"epoch"}
    else:
        assert len(t) == 3 and t.set_index("task").loc["tench", "keras_policy"] == "mixed_float16"


def test_seed_names_parse_with_underscores_and_kinds():
    f = parse_name(Path("binary_oneVall_english_springer_12_best_model.weights.h5"))
    assert (f.task, f.count, f.kind, f.epoch) == ("english_springer", 12, "best_model.weights", None)
    f = parse_name(Path("binary_oneVall_cassette_player_3_epoch17.h5"))
    assert (f.task, f.count, f.kind, f.epoch) == ("cassette_player", 3, "checkpoint", 17)
    assert parse_name(Path("binary_oneVall_tench_model.h5")) is None
    assert parse_name(Path("model_0.h5")) is None


def write_weights_h5(path: Path, net: Net, optimizer: bool = True) -> None:
    """A Keras-3 `.weights.h5` tree (layers/<name>/vars/<i>), as `model.save_weights` writes it, with the pooling,
    flatten and optimizer groups Keras adds."""
    names = ["conv2d", "conv2d_1", "conv2d_2", "dense", "dense_1"]
    with h5py.File(path, "w") as f:
        for name in ("average_pooling2d", "average_pooling2d_1", "flatten"):
            f.create_group(f"layers/{name}/vars")
        for name, (kernel, bias) in zip(names, torch_to_keras(net.spec, net.params)):
            group = f.create_group(f"layers/{name}/vars")
            group["0"], group["1"] = kernel, bias
        f.create_group("vars")
        if optimizer:
            opt = f.create_group("optimizer/vars")
            opt["0"] = np.int64(3)
            for i, (kernel, _) in enumerate(torch_to_keras(net.spec, net.params)):
                opt[str(2 * i + 1)] = np.zeros_like(kernel)


def test_keras3_weight_trees_with_many_classes_sort_naturally(tmp_path):
    spec = lenet5_seed()
    folder = tmp_path / "run" / "best_weights"
    folder.mkdir(parents=True)
    nets = {}
    for task in ("tench", "english_springer", "cassette_player"):
        for count in (2, 10, 1):
            net = init_net(spec, hash((task, count)) % 1000, "glorot_uniform")
            nets[task, count] = net
            write_weights_h5(folder / f"binary_oneVall_{task}_{count}_best_model.weights.h5", net)
    write_weights_h5(tmp_path / "run" / "binary_oneVall_tench_2_epoch3.h5", nets["tench", 1])
    zoo = import_zoo("seed-keras", tmp_path / "run", tmp_path / "zoo")
    t = zoo.table
    finals = t[t["checkpoint"] == "final"]
    assert list(finals["task"]) == ["tench"] * 3 + ["english_springer"] * 3 + ["cassette_player"] * 3
    assert list(finals["replicate"]) == [1, 2, 10] * 3 and list(finals["task_index"]) == [0] * 3 + [1] * 3 + [2] * 3
    for i in range(len(zoo)):
        row = zoo.table.iloc[i]
        source = nets[row["task"], row["replicate"]] if row["checkpoint"] == "final" else nets["tench", 1]
        assert torch.equal(zoo.net(i).flat(), source.flat())
    assert t[t["checkpoint"] == "epoch"][["task", "replicate", "epoch"]].values.tolist() == [["tench", 2, 3]]


def test_the_import_resumes_and_rebuilds_a_damaged_shard(tmp_path):
    from weightspace.zoo.formats.seed_keras import import_seed_keras

    whole = import_seed_keras(FIXTURES / RUNS[0], tmp_path / "a", shard_size=1)
    shard = tmp_path / "a" / "shards" / "00001.safetensors"
    data = bytearray(shard.read_bytes())
    data[-3] ^= 1
    shard.write_bytes(bytes(data))
    again = import_seed_keras(FIXTURES / RUNS[0], tmp_path / "a", shard_size=1, resume=True)
    assert verify(again.root) == [] and torch.equal(again.flat(), whole.flat())


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: write_weights_h5(d / "binary_oneVall_tench_0_best_model.weights.h5",
                                    init_net(small_cnn(), 0, "glorot_uniform")), "not a Keras model of|tensors"),
        (lambda d: (d / "binary_oneVall_tench_0_model.h5").write_bytes(
            (FIXTURES / RUNS[0] / "model_weights/binary_oneVall_tench_0_model.h5").read_bytes()[:5000]), "readable"),
        (lambda d: (d / "binary_oneVall_tench_model.h5").write_bytes(b"x"), "does not parse|no seed files"),
        (lambda d: None, "no seed files"),
    ],
    ids=["other architecture", "truncated h5", "name does not parse", "empty folder"],
)  # fmt: skip
def test_malformed_seed_inputs_say_one_thing_and_write_nothing(tmp_path, make, message):
    folder = tmp_path / "in"
    folder.mkdir()
    make(folder)
    with pytest.raises(WeightspaceError, match=message):
        import_zoo("seed-keras", folder, tmp_path / "zoo")
    assert not (tmp_path / "zoo").exists()


def test_a_metrics_table_missing_a_class_is_refused(tmp_path):
    folder = tmp_path / "run"
    (folder / "model_weights").mkdir(parents=True)
    for task in ("tench", "church"):
        name = f"binary_oneVall_{task}_0_model.h5"
        (folder / "model_weights" / name).write_bytes((FIXTURES / RUNS[0] / "model_weights" / name).read_bytes())
    csv = pd.read_csv(FIXTURES / RUNS[0] / "model_performance_metrics.csv")
    csv[csv["Class"] != "church"].to_csv(folder / "model_performance_metrics.csv", index=False)
    with pytest.raises(WeightspaceError, match="no row for class 'church'"):
        import_zoo("seed-keras", folder, tmp_path / "zoo")
    assert not (tmp_path / "zoo").exists()


# -- PyTorch files ---------------------------------------------------------------------------------------------------
class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 5), nn.Linear(5, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def test_state_dicts_import_with_a_spec_file_and_compute_the_same(tmp_path):
    spec = spec_of(TwoLayer(), (6,))
    (tmp_path / "spec.json").write_text(spec.to_json())
    modules = []
    for task in ("a", "b"):
        (tmp_path / "in" / task).mkdir(parents=True)
        torch.manual_seed(len(modules))
        modules.append(TwoLayer())
        torch.save(modules[-1].state_dict(), tmp_path / "in" / task / "net.pt")
    assert detect_format(tmp_path / "in") == "state-dicts"
    from weightspace.nets import resolve_spec

    zoo = import_zoo("state-dicts", tmp_path / "in", tmp_path / "zoo", resolve_spec(str(tmp_path / "spec.json")))
    x = torch.randn(4, 6)
    for i, module in enumerate(modules):
        assert torch.allclose(zoo.net(i)(x), module(x).detach(), atol=1e-6) and zoo.table["task"][i] == "ab"[i]


def test_a_file_that_needs_pickle_is_refused(tmp_path):
    torch.save({"weight": torch.zeros(2), "optimizer": Path("x")}, tmp_path / "bad.pth")
    with pytest.raises(WeightspaceError, match="needs full pickle"):
        load_state_dict(tmp_path / "bad.pth")
    torch.save({"epochs": 3}, tmp_path / "notensors.pth")
    with pytest.raises(WeightspaceError, match="does not hold a state dict"):
        load_state_dict(tmp_path / "notensors.pth")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(WeightspaceError, match="not a readable PyTorch file"):
        load_state_dict(tmp_path / "junk.pt")


class SchurholtCNN(nn.Module):
    """The model zoos' MNIST CNN (conv 8/6/4, max pooling, tanh), layers in a ModuleList, as their trials save it."""

    def __init__(self):
        super().__init__()
        self.module_list = nn.ModuleList([
            nn.Conv2d(1, 8, 5), nn.MaxPool2d(2, 2), nn.Tanh(), nn.Dropout(0.1),
            nn.Conv2d(8, 6, 5), nn.MaxPool2d(2, 2), nn.Tanh(), nn.Dropout(0.1),
            nn.Conv2d(6, 4, 2), nn.Tanh(), nn.Flatten(), nn.Linear(36, 20), nn.Tanh(), nn.Dropout(0.1),
            nn.Linear(20, 10),
        ])  # fmt: skip

    def forward(self, x):
        for layer in self.module_list:
            x = layer(x)
        return x


def test_model_zoo_trials_infer_the_architecture_and_compute_the_same(tmp_path):
    params = {"model::type": "CNN", "model::nlin": "tanh", "model::channels_in": 1, "model::dropout": 0.1,
              "optim::lr": 3e-4, "seed": 0}  # fmt: skip
    modules = {}
    for trial in ("NN_tune_trainable_0_seed=1", "NN_tune_trainable_1_seed=2"):
        folder = tmp_path / "zoo_in" / trial
        folder.mkdir(parents=True)
        (folder / "params.json").write_text(json.dumps(params))
        lines = [json.dumps({"training_iteration": e, "test_acc": 0.1 * e, "done": False}) for e in (1, 2)]
        (folder / "result.json").write_text("\n".join(lines) + "\n")
        for epoch in (1, 2):
            torch.manual_seed(epoch + len(modules))
            module = SchurholtCNN().eval()
            modules[trial, epoch] = module
            (folder / f"checkpoint_{epoch:06d}").mkdir()
            torch.save(module.state_dict(), folder / f"checkpoint_{epoch:06d}" / "checkpoints")
    assert model_zoo_spec(params).num_params() == 2464
    assert detect_format(tmp_path / "zoo_in") == "model-zoo"
    zoo = import_zoo("auto", tmp_path / "zoo_in", tmp_path / "zoo")
    assert len(zoo) == 4 and zoo.table["model_id"].nunique() == 2 and verify(zoo.root) == []
    x = torch.rand(3, 1, 28, 28)
    for i in range(len(zoo)):
        row = zoo.table.iloc[i]
        assert row["test_acc"] == pytest.approx(0.1 * row["epoch"]) and row["optim_lr"] == 3e-4
        expected = modules[row["trial"], row["epoch"]](x)
        assert torch.allclose(zoo.net(i)(x), expected, atol=1e-6)


class DWSInr(nn.Module):
    """DWSNets' image INR: two SIREN layers (sin(30 (W x + b))), a linear output, + 0.5."""

    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(nn.Linear(2, 32), nn.Linear(32, 32), nn.Linear(32, 1))

    def forward(self, x):
        h = torch.sin(30 * self.seq[0](x))
        h = torch.sin(30 * self.seq[1](h))
        return self.seq[2](h) + 0.5


def test_dwsnets_inr_folders_import_with_class_and_split(tmp_path):
    root = tmp_path / "mnist-inrs"
    modules, paths = {}, {"train": [], "test": []}
    for i, (split, label) in enumerate([("training", 3), ("training", 7), ("testing", 3)]):
        folder = root / f"mnist_png_{split}_{label}_{100 + i}" / "checkpoints"
        folder.mkdir(parents=True)
        torch.manual_seed(i)
        module = DWSInr()
        modules[folder.parent.name] = module
        torch.save(module.state_dict(), folder / "model_final.pth")
        paths["train" if split == "training" else "test"].append(f"/elsewhere/mnist-inrs/{folder.parent.name}/"
                                                                   "checkpoints/model_final.pth")  # fmt: skip
    splits = {s: {"path": p, "label": [Path(q).parent.parent.name.split("_")[-2] for q in p]} for s, p in paths.items()}
    (root / "mnist_splits.json").write_text(json.dumps(splits))
    assert detect_format(root) == "inr-dir"
    zoo = import_zoo("auto", root, tmp_path / "zoo")
    coords = torch.rand(50, 2) * 2 - 1
    for i in range(len(zoo)):
        row = zoo.table.iloc[i]
        module = modules[Path(row["file"]).parent.parent.name]
        # w0 folded into the weights re-associates float32 products that sin amplifies 30-fold: ~1e-4
        assert torch.allclose(zoo.net(i)(coords), module(coords).detach(), atol=3e-4)
    assert list(zoo.table["task"]) == ["3", "3", "7"] and list(zoo.table["split"]) == ["test", "train", "train"]


# -- exports ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smallcnn_zoo(tmp_path_factory):
    from tests.conftest import make_tiny_config

    return generate(make_tiny_config(), tmp_path_factory.mktemp("z") / "zoo")


def nfn_convention(folder: Path) -> tuple[list[np.ndarray], list[np.ndarray], pd.DataFrame]:
    """How nfn's experiments read a small-CNN zoo: weights.npy rows cut by layout.csv (varname, start_idx, end_idx,
    shape), TensorFlow kernels moved to PyTorch order, metrics from metrics.csv.gz."""
    data = np.load(folder / "weights.npy")
    metrics = pd.read_csv(folder / "metrics.csv.gz", compression="gzip")
    weights, biases = [], []
    for _, row in pd.read_csv(folder / "layout.csv").iterrows():
        arr = data[:, row["start_idx"] : row["end_idx"]].reshape(len(data), *ast.literal_eval(row["shape"]))
        if row["varname"].endswith("kernel:0"):
            weights.append(arr.transpose(0, 4, 3, 1, 2) if arr.ndim == 5 else arr.transpose(0, 2, 1))
        else:
            assert row["varname"].endswith("bias:0")
            biases.append(arr)
    return weights, biases, metrics


def test_small_cnn_export_reads_the_nfn_way_and_round_trips(smallcnn_zoo, tmp_path):
    zoo = smallcnn_zoo
    export_zoo("small-cnn", zoo, tmp_path / "e")
    weights, biases, metrics = nfn_convention(tmp_path / "e")
    stacked = zoo.batch().params
    layers = zoo.specs[0].parametric_layers()
    for i, w, b in zip(layers, weights, biases):
        assert np.array_equal(w, stacked[f"{i}.weight"].numpy()) and np.array_equal(b, stacked[f"{i}.bias"].numpy())
    assert list(metrics["test_accuracy"]) == pytest.approx(list(zoo.table["test_accuracy"]))
    back = import_zoo("small-cnn", tmp_path / "e", tmp_path / "back")
    assert torch.equal(back.flat(), zoo.flat())
    with gzip.open(tmp_path / "e" / "metrics.csv.gz", "rt") as f:
        assert f.readline().startswith("model_id")


def test_hf_parquet_export_loads_back(smallcnn_zoo, tmp_path):
    import pyarrow.parquet as pq

    zoo = smallcnn_zoo
    out = export_zoo("hf-parquet", zoo, tmp_path / "hf")
    table = pq.read_table(out / "data" / "train-00000-of-00001.parquet")
    assert table.num_rows == len(zoo) and table.schema.field("weights").type.list_size == zoo.specs[0].num_params()
    flat = np.stack(table.column("weights").to_numpy(zero_copy_only=False))
    assert np.array_equal(flat, zoo.flat().numpy())
    assert table.column("model_id").to_pylist() == list(zoo.table["model_id"])
    try:
        import datasets
    except ImportError:
        return  # `datasets` is an optional extra; pyarrow above reads the same file
    loaded = datasets.load_dataset("parquet", data_files=str(out / "data" / "*.parquet"))["train"]
    assert len(loaded) == len(zoo)


def test_spec_of_traces_modules_and_names_an_unsupported_node():
    spec = spec_of(TwoLayer(), (6,))
    assert [layer.kind for layer in spec.layers] == ["linear", "activation", "linear"]
    net = Net.from_module(None, SchurholtCNN().eval(), input_shape=(1, 28, 28))
    assert net.num_params() == 2464

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(x) + x

    residual = Residual().eval()
    graph = spec_of(residual, (3,))  # not a chain: read as a graph, its tensors mapped by the trace
    assert [n.op.kind for n in graph.nodes] == ["linear", "add"] and graph.nodes[1].inputs == ["fc", "input"]
    x = torch.randn(5, 3)
    assert (Net.from_module(None, residual, input_shape=(3,))(x) - residual(x)).abs().max() < 1e-6

    class Softmaxed(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return torch.softmax(self.fc(x), 1)

    with pytest.raises(WeightspaceError, match="node softmax \\(call_function softmax\\): no GraphSpec op"):
        spec_of(Softmaxed(), (3,))


def test_imported_zoo_reads_as_any_zoo(tmp_path):
    zoo = import_zoo("seed-keras", FIXTURES / RUNS[1], tmp_path / "zoo")
    again = Zoo.open(zoo.root)
    assert again.filter(task="tench").net(0).spec == lenet5_seed()


def test_a_keras_import_refuses_a_graph_architecture_in_one_line(tmp_path):
    from weightspace.nets import resnet

    (tmp_path / "in").mkdir()
    with pytest.raises(WeightspaceError, match="the keras-h5 importer: only chains of layers are read"):
        import_zoo("keras-h5", tmp_path / "in", tmp_path / "zoo", resnet(8))
    assert not (tmp_path / "zoo").exists()
