"""Trust: every damaged zoo is caught by `verify` and refused by every reader; resume trusts nothing it did not
write; one writer per zoo; workers die with their parent."""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weightspace.fileio import sha256_file
from weightspace.zoo import Zoo, ZooError, generate, verify, zoo_lock
from weightspace.zoo.manifest import sha256_json
from weightspace.zoo.shards import shard_path

FILES = ("zoo.json", "models.parquet", "shards/00000.safetensors", "shards/00001.safetensors")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A whole 6-network zoo in 2 shards (two checkpoints each), made once for the module."""
    from tests.conftest import make_tiny_config

    config = make_tiny_config().model_copy(update={"classes": [0, 1], "per_task": 3})
    root = tmp_path_factory.mktemp("pristine") / "zoo"
    generate(config, root)
    return root


def copy_of(pristine, tmp_path) -> Path:
    root = tmp_path / "zoo"
    shutil.copytree(pristine, root)
    return root


def everything_read(root: Path):
    """What the readers return for a zoo: manifest, table, every tensor, every Net."""
    zoo = Zoo.open(root)
    return zoo.manifest, zoo.table, zoo.batch().params, zoo.flat(), [net.flat() for net in zoo]


def assert_refused(root: Path):
    problems = verify(root)
    assert problems, "verify passed a damaged zoo"
    assert all("\n" not in p for p in problems)
    with pytest.raises(ZooError):
        everything_read(root)


# -- the corruption matrix: each edit damages one file the way disks, copies and people do ---------------------------
def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


def edit_json(root: Path, change) -> None:
    manifest = json.loads((root / "zoo.json").read_text())
    change(manifest)
    (root / "zoo.json").write_text(json.dumps(manifest))


def rehash(manifest: dict) -> None:
    """What a hostile edit would do: recompute zoo.json's own hash after changing it."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    manifest["manifest_sha256"] = sha256_json(body)


def edit_table(root: Path, change, rehash_manifest: bool = False) -> None:
    table = pd.read_parquet(root / "models.parquet")
    table = change(table)
    table.to_parquet(root / "models.parquet", index=False)
    if rehash_manifest:

        def fix(m):
            m["models_sha256"] = sha256_file(root / "models.parquet")
            rehash(m)

        edit_json(root, fix)


def swap_index(t):
    t.loc[0, "index"], t.loc[1, "index"] = t.loc[1, "index"], t.loc[0, "index"]
    return t


def set_value(column, row, value):
    def change(t):
        t.loc[row, column] = value
        return t

    return change


def shard_header_length(path: Path, value: int) -> None:
    data = bytearray(path.read_bytes())
    data[:8] = struct.pack("<Q", value)
    path.write_bytes(bytes(data))


def shard_garbage_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    n = struct.unpack("<Q", data[:8])[0]
    data[8 : 8 + n] = b"{" * n
    path.write_bytes(bytes(data))


def replace_shard_with_other_shapes(root: Path) -> None:
    """A well-formed shard of the wrong architecture under a rehashed zoo.json (only verify can know)."""
    from safetensors.torch import save_file

    path = shard_path(root, 1)
    save_file({"0.weight": torch.zeros(6, 3, 3, 3)}, path, metadata={"weightspace.shard": '{"rows": []}'})

    def fix(m):
        m["shards"][1]["sha256"] = sha256_file(path)
        rehash(m)

    edit_json(root, fix)


S0, S1 = "shards/00000.safetensors", "shards/00001.safetensors"
DAMAGE = {
    "shard: a bit in the tensor data": lambda r: flip(r / S1, -5),
    "shard: a bit in the header": lambda r: flip(r / S1, 40),
    "shard: truncated": lambda r: (r / S1).write_bytes((r / S1).read_bytes()[:-100]),
    "shard: emptied": lambda r: (r / S1).write_bytes(b""),
    "shard: deleted": lambda r: (r / S1).unlink(),
    "shard: two shards swapped": lambda r: (
        (r / S0).rename(r / "t"),
        (r / S1).rename(r / S0),
        (r / "t").rename(r / S1),
    ),
    "shard: oversized header length": lambda r: shard_header_length(r / S1, 2**40),
    "shard: malformed header": lambda r: shard_garbage_header(r / S1),
    "parquet: a bit flipped": lambda r: flip(r / "models.parquet", 200),
    "parquet: a test_loss edited": lambda r: edit_table(r, set_value("test_loss", 3, 0.001)),
    "parquet: two rows' index swapped": lambda r: edit_table(r, swap_index),
    "parquet: rows reordered": lambda r: edit_table(r, lambda t: t.iloc[::-1].reset_index(drop=True)),
    "parquet: a row dropped": lambda r: edit_table(r, lambda t: t.iloc[:-1]),
    "parquet: a negative index": lambda r: edit_table(r, set_value("index", 0, -1)),
    "parquet: truncated": lambda r: (r / "models.parquet").write_bytes((r / "models.parquet").read_bytes()[:300]),
    "parquet: deleted": lambda r: (r / "models.parquet").unlink(),
    "zoo.json: not JSON": lambda r: (r / "zoo.json").write_text('{"schema": 2, '),
    "zoo.json: a list": lambda r: (r / "zoo.json").write_text("[]"),
    "zoo.json: a shard hash edited": lambda r: edit_json(r, lambda m: m["shards"][0].update(sha256="0" * 64)),
    "zoo.json: a key missing": lambda r: edit_json(r, lambda m: m.pop("specs")),
    "zoo.json: a row count edited": lambda r: edit_json(r, lambda m: m.update(rows=5)),
    "zoo.json: config edited": lambda r: edit_json(r, lambda m: m["config"].update(seed=7)),
    "zoo.json: ../ shard path": lambda r: edit_json(
        r, lambda m: m["shards"][1].update(file="../elsewhere.safetensors")
    ),
    "zoo.json: absolute shard path": lambda r: edit_json(r, lambda m: m["shards"][1].update(file="/etc/passwd")),
    "zoo.json: a shard listed twice": lambda r: edit_json(r, lambda m: m["shards"].append(m["shards"][0])),
    "zoo.json: wrong types": lambda r: edit_json(r, lambda m: m.update(rows="18")),
    "zoo.json: NaN": lambda r: (r / "zoo.json").write_text(
        (r / "zoo.json").read_text().replace('"rows": 12', '"rows": NaN')
    ),
    "zoo.json: deleted": lambda r: (r / "zoo.json").unlink(),
    "zoo.json: marked incomplete": lambda r: edit_json(r, lambda m: (m.update(complete=False), rehash(m))),
    "zoo.json: path escape, rehashed": lambda r: edit_json(
        r, lambda m: (m["shards"][1].update(file="shards/../../x.safetensors"), rehash(m))
    ),
}
HOSTILE = {  # consistent edits: every hash recomputed. Only the cross-checks of verify can see them.
    "parquet: index swapped, hashes recomputed": lambda r: edit_table(r, swap_index, rehash_manifest=True),
    "parquet: a metric edited, hashes recomputed": lambda r: edit_table(
        r, set_value("test_accuracy", 2, 1.0), rehash_manifest=True
    ),
    "shard: other shapes, hashes recomputed": replace_shard_with_other_shapes,
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damage_is_caught_by_verify_and_refused_by_readers(pristine, tmp_path, case):
    root = copy_of(pristine, tmp_path)
    DAMAGE[case](root)
    assert_refused(root)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_consistent_forgeries_are_caught_by_verify(pristine, tmp_path, case):
    root = copy_of(pristine, tmp_path)
    HOSTILE[case](root)
    assert verify(root)


def test_the_pristine_zoo_passes_and_reads(pristine):
    assert verify(pristine) == []
    manifest, table, stacked, flat, nets = everything_read(pristine)
    assert len(table) == 12 and flat.shape[0] == 12 and len(nets) == 12


def test_reader_checks_hash_once_and_verify_false_skips_it(pristine, tmp_path):
    root = copy_of(pristine, tmp_path)
    flip(root / S1, -5)
    with pytest.raises(ZooError, match="00001.safetensors is damaged"):
        Zoo.open(root).batch()
    Zoo.open(root, verify=False).batch()  # documented opt-out: bounds still checked, hashes not
    zoo = Zoo.open(root)
    with pytest.raises(ZooError, match="outside this zoo's rows"):
        zoo.net(-1)
    with pytest.raises(ZooError, match="outside this zoo's rows"):
        zoo.net(len(zoo))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_byte_change_is_caught_or_changes_nothing(pristine, tmp_path_factory, data):
    file = data.draw(st.sampled_from(FILES))
    size = (pristine / file).stat().st_size
    at = data.draw(st.integers(0, size - 1))
    new = data.draw(st.integers(0, 255))
    root = tmp_path_factory.mktemp("edit") / "zoo"
    shutil.copytree(pristine, root)
    raw = bytearray((root / file).read_bytes())
    if raw[at] == new:
        return
    raw[at] = new
    (root / file).write_bytes(bytes(raw))
    if verify(root):
        return
    manifest, table, stacked, flat, nets = everything_read(root)
    ref = everything_read(pristine)
    assert manifest == ref[0]
    pd.testing.assert_frame_equal(table, ref[1])
    assert all(torch.equal(stacked[k], ref[2][k]) for k in stacked)
    assert torch.equal(flat, ref[3])


# -- resume ----------------------------------------------------------------------------------------------------------
def zoo_bytes(root: Path) -> dict[str, str]:
    return {f: sha256_file(root / f) for f in FILES}


@pytest.fixture
def small_config():
    from tests.conftest import make_tiny_config

    return make_tiny_config().model_copy(update={"classes": [0, 1], "per_task": 3})


def test_resume_remakes_a_damaged_shard_byte_identical(pristine, tmp_path, small_config):
    root = copy_of(pristine, tmp_path)
    flip(root / S1, -5)
    with pytest.raises(ZooError, match="00001.safetensors is damaged"):
        generate(small_config, root, resume=True, stop_on_damage=True)
    generate(small_config, root, resume=True)
    assert zoo_bytes(root) == zoo_bytes(pristine)
    assert len(list((root / "rejected").iterdir())) == 1 and verify(root) == []


def test_resume_remakes_a_shard_of_another_seed(pristine, tmp_path, small_config):
    other = generate(small_config.model_copy(update={"seed": 1}), tmp_path / "other").root
    root = copy_of(pristine, tmp_path)
    shutil.copy(other / S1, root / S1)
    assert any("another config" in p for p in verify(root))
    generate(small_config, root, resume=True)
    assert zoo_bytes(root) == zoo_bytes(pristine)


def test_resume_after_a_kill_during_the_first_write(pristine, tmp_path, small_config):
    root = tmp_path / "zoo"
    root.mkdir()
    (root / ".zoo.json.abc123.tmp").write_text('{"schema": 2, "na')  # all a kill mid-write leaves
    generate(small_config, root, resume=True)
    assert zoo_bytes(root) == zoo_bytes(pristine)
    assert not list(root.glob(".*.tmp")) and not list((root / "shards").glob(".*.tmp"))


def test_files_get_the_users_umask(pristine):
    for f in FILES:
        assert (pristine / f).stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- one writer ------------------------------------------------------------------------------------------------------
def test_a_second_writer_is_refused_naming_the_holder(tmp_path, small_config):
    root = tmp_path / "zoo"
    with zoo_lock(root):
        with pytest.raises(ZooError, match=f"PID {os.getpid()} on host"):
            generate(small_config, root)
        cfg = tmp_path / "c.yaml"
        cfg.write_text(small_config.to_yaml())
        proc = subprocess.run(
            [sys.executable, "-m", "weightspace.cli", "zoo", "generate", "--config", str(cfg), "--out", str(root)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 2 and f"PID {os.getpid()}" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (root / "zoo.json").exists()


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path, small_config):
    root = tmp_path / "zoo"
    root.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (root / ".lock").write_text(json.dumps({"pid": int(dead.stdout), "host": "here", "since": time.time()}))
    assert verify(generate(small_config, root).root) == []


def test_a_failed_start_leaves_nothing(tmp_path, small_config, monkeypatch):
    monkeypatch.setattr(sys.modules["weightspace.zoo.generate"], "DASK_CONNECT_TIMEOUT", "1s")
    with pytest.raises(ZooError, match="Dask scheduler"):
        generate(small_config, tmp_path / "zoo", dask="tcp://127.0.0.1:9")
    assert not (tmp_path / "zoo").exists()
    with pytest.raises(Exception, match="no CUDA GPU") if not torch.cuda.is_available() else _nothing():
        generate(small_config, tmp_path / "zoo2", device="cuda")
    assert torch.cuda.is_available() or not (tmp_path / "zoo2").exists()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def alive(pid: int) -> bool:
    try:
        state = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("State"))
    except (OSError, StopIteration):
        return False
    return " Z " not in state and "zombie" not in state


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")
def test_workers_die_with_their_parent(tmp_path, small_config):
    cfg = tmp_path / "c.yaml"
    config = small_config.model_copy(update={"per_task": 40, "shard_size": 4})
    cfg.write_text(config.to_yaml())
    cmd = [sys.executable, "-m", "weightspace.cli", "zoo", "generate", "--config", str(cfg), "--out",
           str(tmp_path / "zoo"), "--workers", "2"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, workers = time.time() + 120, []
    while time.time() < deadline and not list((tmp_path / "zoo" / "shards").glob("*.safetensors")):
        time.sleep(0.1)
    workers = children_of(proc.pid)
    assert len(workers) >= 2, "the workers must be running for this test to mean anything"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(alive(w) for w in workers)


def test_an_other_schema_is_refused_in_one_line(pristine, tmp_path):
    root = copy_of(pristine, tmp_path)
    manifest = json.loads((root / "zoo.json").read_text())
    (root / "zoo.json").write_text(json.dumps(manifest | {"schema": 1}))
    with pytest.raises(ZooError, match="schema 1 is not one this weightspace reads"):
        Zoo.open(root)
    assert len(verify(root)) == 1 and "schema 1" in verify(root)[0]
