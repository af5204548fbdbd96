"""A disk that fills up mid-run, on a real 400 KB tmpfs: one line, no file left that reads as whole, and a later
--resume (with space again) completes the zoo byte-identically."""

import shutil
import subprocess

import pytest

from weightspace import limits
from weightspace.cli import main
from weightspace.fileio import sha256_file
from weightspace.zoo import generate, verify


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); CI runs as root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def run(argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    return exit_.value.code, capsys.readouterr().err


def test_a_plan_larger_than_the_disk_is_refused_before_it_starts(small_disk, tmp_path, tiny_config, capsys):
    config = tiny_config.model_copy(update={"per_task": 30})
    (tmp_path / "zoo.yaml").write_text(config.to_yaml())
    code, err = run(["zoo", "generate", "--config", str(tmp_path / "zoo.yaml"), "--out", str(small_disk / "z")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "on disk" in err and "free" in err, err
    assert not (small_disk / "z").exists()


def test_a_disk_that_fills_mid_run_says_so_and_resume_completes_it(small_disk, tmp_path, tiny_config, capsys,
                                                                    monkeypatch):  # fmt: skip
    config = tiny_config.model_copy(update={"per_task": 12, "shard_size": 3})  # 12 shards of ~60 KB
    (tmp_path / "zoo.yaml").write_text(config.to_yaml())
    monkeypatch.setattr(limits, "_free_disk", lambda path: 1 << 40)  # the disk fills after the preflight
    argv = ["zoo", "generate", "--config", str(tmp_path / "zoo.yaml"), "--out", str(small_disk / "z"), "--workers", "1"]
    code, err = run(argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no space left" in err, err
    assert "Traceback" not in err
    problems = verify(small_disk / "z")
    assert any("incomplete" in p for p in problems) and not any("damaged" in p for p in problems), problems
    assert not list((small_disk / "z").rglob("*.tmp"))  # no half-written file is left behind

    shutil.copytree(small_disk / "z", tmp_path / "z")  # space again
    code, err = run([*argv[:4], "--out", str(tmp_path / "z"), "--workers", "1", "--resume"], capsys)
    assert code == 0, err
    assert verify(tmp_path / "z") == []
    fresh = generate(config, tmp_path / "fresh")
    hashes = sorted(sha256_file(p) for p in (tmp_path / "z" / "shards").glob("*.safetensors"))
    assert hashes == sorted(sha256_file(p) for p in (fresh.root / "shards").glob("*.safetensors"))
