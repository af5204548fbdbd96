import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from weightspace.errors import WeightspaceError
from weightspace.nets import Net, init_net, lenet5_seed
from weightspace.zoo import generate, verify
from weightspace.zoo.formats.keras import torch_to_keras
from weightspace.zoo.formats.keras_h5 import import_keras_h5
from weightspace.zoo.formats.smallcnn import export_smallcnn, import_smallcnn
from weightspace.zoo.formats.statedicts import export_statedicts, import_statedicts

KERAS_NAMES = ["conv2d", "conv2d_1", "conv2d_2", "dense", "dense_1"]


def write_keras_h5(path, net: Net):
    """A file in the layout Keras writes for the seed LeNet-5: model_weights/<layer>/<layer>/kernel:0, bias:0."""
    with h5py.File(path, "w") as f:
        g = f.create_group("model_weights")
        names = ["conv2d", "average_pooling2d"] + KERAS_NAMES[1:]
        g.attrs["layer_names"] = [n.encode() for n in names]
        g.create_group("average_pooling2d")
        for name, (kernel, bias) in zip(KERAS_NAMES, torch_to_keras(net.spec, net.params)):
            inner = g.create_group(f"{name}/{name}")
            inner["kernel:0"] = kernel
            inner["bias:0"] = bias


def keras_forward(layers, x):
    """The seed LeNet-5 computed the Keras way (NHWC, flatten in H, W, C order) with numpy/torch ops."""
    import torch.nn.functional as F

    h = torch.as_tensor(x).permute(0, 2, 3, 1)  # NHWC
    for j, pad in ((0, 2), (1, 0), (2, 0)):
        k = torch.as_tensor(layers[j][0])
        h = F.conv2d(h.permute(0, 3, 1, 2), k.permute(3, 2, 0, 1), torch.as_tensor(layers[j][1]), padding=pad)
        h = torch.tanh(h).permute(0, 2, 3, 1)
        if j < 2:
            h = F.avg_pool2d(h.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
    h = h.reshape(len(h), -1)  # Keras flatten: H, W, C order
    h = torch.tanh(h @ torch.as_tensor(layers[3][0]) + torch.as_tensor(layers[3][1]))
    return torch.sigmoid(h @ torch.as_tensor(layers[4][0]) + torch.as_tensor(layers[4][1]))


def test_keras_h5_import_gives_the_same_function(tmp_path):
    spec = lenet5_seed()
    nets = [init_net(spec, s, "glorot_uniform") for s in range(4)]
    for i, net in enumerate(nets):
        folder = tmp_path / "h5" / ("tench" if i < 2 else "church")
        folder.mkdir(parents=True, exist_ok=True)
        write_keras_h5(folder / f"model_{i}.h5", net)
    x = torch.rand(3, 3, 32, 32)
    reference = keras_forward(torch_to_keras(spec, nets[0].params), x)
    zoo = import_keras_h5(sorted((tmp_path / "h5").rglob("*.h5")), tmp_path / "zoo")
    assert verify(tmp_path / "zoo") == [] and len(zoo) == 4
    assert sorted(zoo.table["task"]) == ["church", "church", "tench", "tench"]
    imported = zoo.filter(file=str(tmp_path / "h5" / "tench" / "model_0.h5")).net(0)
    assert torch.allclose(imported(x), reference, atol=1e-5)
    assert torch.equal(imported.flat(), nets[0].flat())


def test_keras_h5_of_another_architecture_is_refused(tmp_path):
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f.create_group("model_weights/dense/dense")["kernel:0"] = np.zeros((3, 2), np.float32)
    with pytest.raises(WeightspaceError, match="expected architecture|weighted Keras layers"):
        import_keras_h5([tmp_path / "bad.h5"], tmp_path / "zoo")


def test_small_cnn_zoo_layout_round_trip(tmp_path, tiny_config):
    zoo = generate(tiny_config, tmp_path / "z")
    folder = export_smallcnn(zoo, tmp_path / "export")
    assert np.load(folder / "weights.npy").shape == (18, zoo.specs[0].num_params())
    again = import_smallcnn(folder, tmp_path / "back")
    assert torch.equal(again.flat(), zoo.flat())
    assert list(again.table["test_auc"]) == pytest.approx(list(zoo.table["test_auc"]))
    pd.read_csv(folder / "metrics.csv.gz").iloc[:3].to_csv(folder / "metrics.csv.gz", index=False)
    with pytest.raises(WeightspaceError, match="metrics has 3 rows"):
        import_smallcnn(folder, tmp_path / "bad")


def test_safetensors_directory_round_trip(tmp_path, tiny_config):
    zoo = generate(tiny_config, tmp_path / "z").filter(epoch=2)
    paths = export_statedicts(zoo, tmp_path / "nets")
    assert len(paths) == 9 and Net.load(paths[0]).meta["epoch"] == 2
    again = import_statedicts(tmp_path / "nets", tmp_path / "back")
    assert torch.equal(again.flat(), zoo.flat())
    assert list(again.table["model_id"]) == list(zoo.table["model_id"])
