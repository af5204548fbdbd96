"""What is kept beside a zoo has one owner (the writer's BESIDE list), and the format document lists all of it."""

from pathlib import Path

import pytest

from weightspace.zoo import BESIDE, ZooError, beside

FORMAT = Path(__file__).resolve().parents[2] / "docs" / "zoo-format.md"


def test_every_name_kept_beside_a_zoo_is_in_the_format_document():
    text = FORMAT.read_text()
    assert [name for name in BESIDE if f"`{name}`" not in text and f"`{name}/`" not in text] == []


def test_a_name_not_on_the_list_is_refused():
    with pytest.raises(ZooError, match="not kept beside a zoo"):
        beside("zoo", "notes.txt")
    assert beside("zoo", "encoders") == Path("zoo") / "encoders"
