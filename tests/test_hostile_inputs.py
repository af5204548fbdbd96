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
