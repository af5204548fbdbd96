"""Every hostile file and config in tests/hostile.py: one line on stderr, exit 2, no traceback, nothing written."""

import pytest

from tests.hostile import CASES
from weightspace.cli import main


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hostile_input_is_one_line_exit_2_and_writes_nothing(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = CASES[name](tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.parent.glob("escape*")) and not list(tmp_path.parent.parent.glob("evil*"))


BOMBS = ["h5_huge_kernel", "h5_compressed_huge_kernel", "keras_zip_bomb", "pt_zero_stride_huge_tensor",
         "pt_storage_declared_huge", "smallcnn_npy_huge_header", "safetensors_header_huge"]  # fmt: skip
PEAK = """
import resource, sys, tempfile
from pathlib import Path
from tests.hostile import CASES
from weightspace.cli import main
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for name in sys.argv[1:]:
    argv = CASES[name](Path(tempfile.mkdtemp()))
    try:
        main(argv)
    except SystemExit as exit_:
        assert exit_.code == 2, name
print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_peak_memory_on_the_allocation_bombs_stays_small():
    """Files declaring 40-149 GB: refused with at most 400 MB more memory than reading a tiny file costs (the
    .keras bomb makes its archive, 512 MB unpacked, in the same process before it is refused)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).parents[1]
    done = subprocess.run([sys.executable, "-c", PEAK, *BOMBS], capture_output=True, text=True, cwd=root, timeout=300)
    assert done.returncode == 0, done.stderr
    before, after = (int(v) for v in done.stdout.split()[-2:])  # KB
    assert after - before < 400_000, f"peak grew by {(after - before) / 1e3:.0f} MB"
