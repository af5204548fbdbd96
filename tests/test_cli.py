"""End-to-end: the installed `weightspace` command, run as a user runs it."""

import os
import subprocess
import sys

from weightspace.nets import Net


def run(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "weightspace.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"COLUMNS": "200"},
    )
    if check:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def test_help_lists_every_command():
    out = run("--help").stdout
    for command in ("info", "demo", "nets"):
        assert command in out
    assert "show" in run("nets", "--help").stdout


def test_info_reports_datasets():
    out = run("info").stdout
    assert "digits" in out and "mnist5k" in out and "imagenette" in out and "torch" in out


def test_nets_presets_and_show():
    out = run("nets", "presets").stdout
    assert "91,481" in out and "4,970" in out
    assert "conv2d" in run("nets", "show", "lenet5-seed").stdout


def test_user_errors_are_one_line_not_a_traceback(tmp_path):
    proc = run("nets", "show", "resnet", check=False)
    assert proc.returncode == 2 and "unknown preset" in proc.stdout and "Traceback" not in proc.stderr
    bad = tmp_path / "spec.json"
    bad.write_text('{"input_shape": [3], "layers": [{"kind": "linear"}]}')
    proc = run("nets", "show", str(bad), check=False)
    assert proc.returncode == 2 and "out_features" in proc.stdout and "Traceback" not in proc.stderr


def test_demo_end_to_end(tmp_path):
    out = run("demo", "--epochs", "2", "--out", str(tmp_path)).stdout
    assert "lenet5-seed" in out and "test accuracy" in out
    net = Net.load(tmp_path / "small-cnn-digits.safetensors")
    assert net.meta["task"] == "digits" and 0 <= net.meta["test_accuracy"] <= 1
