"""Hostile inputs, each a folder or file an attacker (or a damaged download) could hand to a command: a maker writes
it under a folder and returns the command line. Shared by the hostile-input tests and the fuzz test."""

from __future__ import annotations

import gzip
import io
import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch

from weightspace.nets import Net, NetBatch, init_net, mlp, small_cnn

SEED_FIXTURE = Path(__file__).parent / "data" / "seed-keras" / "keras2-tf2.15" / "model_weights"
Maker = Callable[[Path], list[str]]
CASES: dict[str, Maker] = {}


def case(fn: Maker) -> Maker:
    CASES[fn.__name__] = fn
    return fn


def out(folder: Path) -> str:
    return str(folder / "out")


# -- PyTorch files ----------------------------------------------------------------------------------------------------
def spec_file(folder: Path, spec) -> str:
    (folder / "spec.json").write_text(spec.to_json())
    return str(folder / "spec.json")


@case
def pt_zero_stride_huge_tensor(folder: Path) -> list[str]:
    """A tensor claiming 10^10 elements over a one-element storage (stride 0): 40 GB once copied."""
    (folder / "in").mkdir()
    torch.save({"0.weight": torch.zeros(1).expand(10**10), "0.bias": torch.zeros(3)}, folder / "in" / "a.pt")
    return ["zoo", "import", "state-dicts", str(folder / "in"), "--out", out(folder),
            "--arch", spec_file(folder, mlp(4, [], 3))]  # fmt: skip


@case
def pt_storage_declared_huge(folder: Path) -> list[str]:
    """A torch zip whose storage member's header claims 4 GB (a bomb: deflated zeros, or a lying size field)."""
    (folder / "in").mkdir()
    buf = io.BytesIO()
    torch.save({"0.weight": torch.zeros(3, 4), "0.bias": torch.zeros(3)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(folder / "in" / "a.pt", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if "/data/" in info.filename:
                data = bytes(64 << 20)  # 64 MB of zeros, deflated to ~64 KB
                dst.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
            else:
                dst.writestr(info, data)
    return ["zoo", "import", "state-dicts", str(folder / "in"), "--out", out(folder),
            "--arch", spec_file(folder, mlp(4, [], 3))]  # fmt: skip


@case
def pt_not_a_torch_file(folder: Path) -> list[str]:
    (folder / "in").mkdir()
    (folder / "in" / "a.pt").write_bytes(b"PK\x03\x04" + bytes(100))
    return ["zoo", "import", "state-dicts", str(folder / "in"), "--out", out(folder),
            "--arch", spec_file(folder, mlp(4, [], 3))]  # fmt: skip


# -- Keras files ------------------------------------------------------------------------------------------------------
@case
def h5_huge_kernel(folder: Path) -> list[str]:
    """A Keras .h5 declaring a 200,000 x 200,000 kernel (149 GiB) in a file of a few KB (HDF5 fills it in)."""
    (folder / "in" / "task").mkdir(parents=True)
    with h5py.File(folder / "in" / "task" / "m.h5", "w") as f:
        g = f.create_group("model_weights/dense/dense")
        g.create_dataset("kernel:0", shape=(200_000, 200_000), dtype="f4")
        g.create_dataset("bias:0", shape=(200_000,), dtype="f4")
        f["model_weights"].attrs["layer_names"] = [b"dense"]
    return ["zoo", "import", "keras-h5", str(folder / "in"), "--out", out(folder)]


@case
def h5_compressed_huge_kernel(folder: Path) -> list[str]:
    """The same claim, chunked and gzip-compressed: the size on disk says nothing of the size in memory."""
    (folder / "in" / "task").mkdir(parents=True)
    with h5py.File(folder / "in" / "task" / "m.h5", "w") as f:
        g = f.create_group("model_weights/dense/dense")
        g.create_dataset("kernel:0", shape=(200_000, 200_000), dtype="f4", chunks=(1000, 1000), compression="gzip")
        f["model_weights"].attrs["layer_names"] = [b"dense"]
    return ["zoo", "import", "keras-h5", str(folder / "in"), "--out", out(folder)]


@case
def keras_zip_bomb(folder: Path) -> list[str]:
    """A .keras archive whose model.weights.h5 member inflates to 512 MB from ~0.5 MB."""
    (folder / "in" / "task").mkdir(parents=True)
    with zipfile.ZipFile(folder / "in" / "task" / "m.keras", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", "{}")
        with z.open("model.weights.h5", "w", force_zip64=True) as member:
            block = bytes(16 << 20)
            for _ in range(32):
                member.write(block)
    return ["zoo", "import", "keras-h5", str(folder / "in"), "--out", out(folder)]


@case
def keras_lying_size(folder: Path) -> list[str]:
    """A .keras archive whose member header claims 3 GB uncompressed."""
    (folder / "in" / "task").mkdir(parents=True)
    path = folder / "in" / "task" / "m.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("model.weights.h5", b"x" * 100)
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 3_000_000_000)  # uncompressed size in the central directory
    path.write_bytes(bytes(data))
    return ["zoo", "import", "keras-h5", str(folder / "in"), "--out", out(folder)]


@case
def seed_keras_truncated(folder: Path) -> list[str]:
    (folder / "in").mkdir()
    data = (SEED_FIXTURE / "binary_oneVall_tench_0_model.h5").read_bytes()
    (folder / "in" / "binary_oneVall_tench_0_model.h5").write_bytes(data[: len(data) // 2])
    return ["zoo", "import", "seed-keras", str(folder / "in"), "--out", out(folder)]


# -- safetensors ------------------------------------------------------------------------------------------------------
@case
def safetensors_model_id_path(folder: Path) -> list[str]:
    """A Net file whose metadata says model_id '../../evil'."""
    (folder / "in").mkdir()
    Net.init(mlp(4, [3], 2), 0, model_id="../../evil").save(folder / "in" / "a.safetensors")
    return ["zoo", "import", "safetensors-dir", str(folder / "in"), "--out", out(folder)]


@case
def safetensors_task_path(folder: Path) -> list[str]:
    (folder / "in").mkdir()
    Net.init(mlp(4, [3], 2), 0, model_id=0, task="../x").save(folder / "in" / "a.safetensors")
    return ["zoo", "import", "safetensors-dir", str(folder / "in"), "--out", out(folder)]


@case
def safetensors_header_huge(folder: Path) -> list[str]:
    """A safetensors header declaring a tensor far past the end of the file."""
    (folder / "in").mkdir()
    header = json.dumps({"0.weight": {"dtype": "F32", "shape": [100000, 100000], "data_offsets": [0, 4 * 10**10]}})
    header = header.encode() + b" " * (-len(header) % 8)
    (folder / "in" / "a.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(64))
    return ["zoo", "import", "safetensors-dir", str(folder / "in"), "--out", out(folder),
            "--arch", spec_file(folder, mlp(4, [], 3))]  # fmt: skip


# -- the small-CNN layout ---------------------------------------------------------------------------------------------
def smallcnn_folder(folder: Path, shape_field: str | None = None, metrics: dict | None = None) -> Path:
    """A real export of two small CNNs, then one field changed."""
    from weightspace.zoo.formats.smallcnn import export_smallcnn

    spec = small_cnn((1, 8, 8), padding=1, classes=1)
    nets = [init_net(spec, i) for i in range(2)]

    class TwoNets:  # the little of a Zoo that export_smallcnn reads
        specs = [spec]
        table = pd.DataFrame({"model_id": [0, 1], "task": ["a", "b"], "shard": 0, "index": [0, 1]})

        def __len__(self):
            return 2

        def batch(self, rows):
            return NetBatch.of([nets[i] for i in rows])

    root = folder / "in"
    export_smallcnn(TwoNets(), root)
    if shape_field is not None:
        layout = pd.read_csv(root / "layout.csv")
        layout.loc[0, "shape"] = shape_field
        layout.to_csv(root / "layout.csv", index=False)
    if metrics is not None:
        table = pd.read_csv(root / "metrics.csv.gz")
        for k, v in metrics.items():
            table[k] = table[k].astype(object)
            table.loc[0, k] = v
        with gzip.open(root / "metrics.csv.gz", "wt") as f:
            table.to_csv(f, index=False)
    return root


def smallcnn_case(**change) -> Maker:
    def make(folder: Path) -> list[str]:
        return ["zoo", "import", "small-cnn", str(smallcnn_folder(folder, **change)), "--out", out(folder)]

    return make


for name, change in {
    "smallcnn_negative_shape": {"shape_field": "(3, 3, 1, -16)"},
    "smallcnn_oversized_shape": {"shape_field": "(3000, 3000, 1000, 16)"},
    "smallcnn_mismatched_shape": {"shape_field": "(64, 33)"},
    "smallcnn_code_in_shape": {"shape_field": "__import__('os').system('echo pwned')"},
    "smallcnn_text_model_id": {"metrics": {"model_id": "seven"}},
    "smallcnn_path_task": {"metrics": {"task": "../../escape"}},
}.items():
    CASES[name] = smallcnn_case(**change)


@case
def smallcnn_npy_huge_header(folder: Path) -> list[str]:
    root = smallcnn_folder(folder)
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (10000000000, 1000), }"
    with open(root / "weights.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**10, 1000)})
    assert header
    return ["zoo", "import", "small-cnn", str(root), "--out", out(folder)]


# -- Schürholt et al.'s model zoos ------------------------------------------------------------------------------------
def model_zoo_folder(folder: Path, params: dict) -> Path:
    trial = folder / "in" / "trial_0"
    (trial / "checkpoint_000001").mkdir(parents=True)
    (trial / "params.json").write_text(json.dumps(params))
    torch.save({"w": torch.zeros(2)}, trial / "checkpoint_000001" / "checkpoints")
    return folder / "in"


def model_zoo_case(params: dict) -> Maker:
    def make(folder: Path) -> list[str]:
        return ["zoo", "import", "model-zoo", str(model_zoo_folder(folder, params)), "--out", out(folder)]

    return make


for name, params in {
    "model_zoo_list_type": {"model::type": ["CNN"]},
    "model_zoo_inf_channels": {"model::type": "CNN", "model::channels_in": float("inf")},
    "model_zoo_text_dropout": {"model::type": "CNN", "model::dropout": "a lot"},
    "model_zoo_list_nlin": {"model::type": "MLP", "model::nlin": ["relu"]},
    "model_zoo_text_hidden": {"model::type": "MLP", "model::h_dim": ["wide"]},
    "model_zoo_huge_hidden": {"model::type": "MLP", "model::h_dim": 10**12},
    "model_zoo_params_a_list": [1, 2, 3],
}.items():
    CASES[name] = model_zoo_case(params)


# -- specs and configs ------------------------------------------------------------------------------------------------
def json_spec(folder: Path, layers: list[dict], input_shape=(4,)) -> str:
    (folder / "spec.json").write_text(json.dumps({"input_shape": list(input_shape), "layers": layers}))
    return str(folder / "spec.json")


@case
def spec_of_1e18_parameters(folder: Path) -> list[str]:
    return ["nets", "show", json_spec(folder, [{"kind": "linear", "out_features": 10**9}] * 2, (10**9,))]


@case
def spec_of_200000_layers(folder: Path) -> list[str]:
    return ["nets", "show", json_spec(folder, [{"kind": "linear", "out_features": 4}] * 200_000)]


def zoo_config(folder: Path, **change) -> str:
    base = {"name": "c", "dataset": "digits", "classes": [0, 1], "per_task": 2,
            "arch": {"preset": "mlp", "kwargs": {"input_shape": 64, "widths": [8], "outputs": 1}},
            "training": {"epochs": 1}}  # fmt: skip
    import yaml

    (folder / "zoo.yaml").write_text(yaml.safe_dump(base | change))
    return str(folder / "zoo.yaml")


for name, change in {
    "config_mlp_width_1e5": {
        "arch": {"preset": "mlp", "kwargs": {"input_shape": 64, "widths": [10**5, 10**5], "outputs": 1}}
    },
    "config_mlp_width_1e9": {"arch": {"preset": "mlp", "kwargs": {"input_shape": 64, "widths": [10**9], "outputs": 1}}},
    "config_preset_bad_kwargs": {"arch": {"preset": "mlp", "kwargs": {"hidden": [8]}}},
    "config_preset_text_width": {
        "arch": {"preset": "mlp", "kwargs": {"input_shape": 64, "widths": ["wide"], "outputs": 1}}
    },
    "config_epochs_1e12": {"training": {"epochs": 10**12}},
    "config_per_task_1e9": {"per_task": 10**9},
}.items():
    CASES[name] = (lambda c: lambda folder: ["zoo", "generate", "--config", zoo_config(folder, **c),
                                             "--out", out(folder)])(change)  # fmt: skip


@case
def pt_zero_stride_view_of_the_right_shape(folder: Path) -> list[str]:
    """An expanded view whose shape fits the spec: it must still be refused before it is copied."""
    (folder / "in").mkdir()
    torch.save({"0.weight": torch.zeros(1, 1).expand(3, 4), "0.bias": torch.zeros(3)}, folder / "in" / "a.pt")
    return ["zoo", "import", "state-dicts", str(folder / "in"), "--out", out(folder),
            "--arch", spec_file(folder, mlp(4, [], 3))]  # fmt: skip


@case
def smallcnn_metrics_gzip_bomb(folder: Path) -> list[str]:
    """metrics.csv.gz inflating to 96 MB for a zoo of two networks."""
    root = smallcnn_folder(folder)
    with gzip.open(root / "metrics.csv.gz", "wb", compresslevel=1) as f:
        f.write(b"model_id,task\n")
        block = b"0,a\n" * (1 << 20)
        for _ in range(24):
            f.write(block)
    return ["zoo", "import", "small-cnn", str(root), "--out", out(folder)]


def graph_file(folder: Path, nodes: list[dict]) -> str:
    (folder / "graph.json").write_text(json.dumps({"input_shape": [4], "nodes": nodes}))
    return str(folder / "graph.json")


@case
def graph_with_a_cycle(folder: Path) -> list[str]:
    nodes = [{"name": "a", "op": {"kind": "add"}, "inputs": ["input", "b"]},
             {"name": "b", "op": {"kind": "identity"}, "inputs": ["a"]}]  # fmt: skip
    return ["nets", "show", graph_file(folder, nodes)]


@case
def graph_of_200000_nodes(folder: Path) -> list[str]:
    nodes = [{"name": f"n{i}", "op": {"kind": "identity"}, "inputs": [f"n{i - 1}" if i else "input"]}
             for i in range(200_000)]  # fmt: skip
    return ["nets", "show", graph_file(folder, nodes)]
