"""`scripts/docs_check.py` checks a docs table row by row against its result file: numbers scattered over the
file do not pass, a percentage may be stored as a fraction, and a row listing several values is several rows."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "docs_check.py"
spec = importlib.util.spec_from_file_location("docs_check", SCRIPT)
docs_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(docs_check)


def test_a_row_must_come_from_one_row_of_its_source():
    source = ["| sne | 0.559 | 0.822 |", "| graph | 0.718 | 0.806 |"]
    assert docs_check.unmatched_rows("| sne | 0.559 | 0.822 |", None, source) == []
    assert docs_check.unmatched_rows("| sne | 0.559 | 0.806 |", None, source) == ["| sne | 0.559 | 0.806 |"]


def test_a_percentage_may_be_stored_as_a_fraction():
    assert docs_check.unmatched_rows("| H100 | 24.9 | 2.4 % |", None, ['{"a": 24.86, "f": 0.02427}']) == []
    assert docs_check.unmatched_rows("| H100 | 24.9 | 2.5 % |", None, ['{"a": 24.86, "f": 0.02427}']) != []


def test_a_row_of_several_values_is_several_rows():
    rows = docs_check.table_rows("| SWAT | 1 / 2 | 0.0715 / 0.0686 |")
    assert [r.split("|")[2].strip() for r in rows] == ["0.0715", "0.0686"]
    source = ["| swat | 1 | 0.0715 |", "| swat | 2 | 0.0686 |"]
    assert docs_check.unmatched_rows("| SWAT | 1 / 2 | 0.0715 / 0.0686 |", None, source) == []
