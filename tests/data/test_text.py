import pytest

from weightspace.data import DataNotFoundError, load_text


def test_stdlib_docs_corpus():
    c = load_text()
    assert len(c.train) > 400_000 and len(c.valid) > 20_000 and len(c.test) > 20_000
    assert c.decode(c.train[:50]) == c.decode(c.encode(c.decode(c.train[:50])))
    assert len(c.vocab) > 60


def test_any_utf8_file(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("the quick brown fox jumps over the lazy dog — ünïcode\n" * 20, encoding="utf-8")
    c = load_text(path, valid=0.1, test=0.1)
    assert c.name == "poem" and "ü" in c.vocab
    assert len(c.train) + len(c.valid) + len(c.test) == len(path.read_text(encoding="utf-8"))


def test_text_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_text(tmp_path / "none.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00" * 100)
    with pytest.raises(Exception, match="not UTF-8"):
        load_text(bad)
