"""`benchmarks/README.md` indexes every committed result file, and no benchmark writes into the committed results
unless asked (`--publish`)."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def test_every_result_file_is_indexed_with_its_command():
    index = (ROOT / "benchmarks" / "README.md").read_text()
    patterns = re.findall(r"`([^`\s]+\.(?:json|md|parquet|png|log))`", index)
    missing = [
        p.relative_to(RESULTS).as_posix()
        for p in sorted(RESULTS.rglob("*"))
        if p.is_file() and not any(fnmatch.fnmatch(p.relative_to(RESULTS).as_posix(), pat) for pat in patterns)
        and not any(fnmatch.fnmatch(p.name, pat) for pat in patterns)
    ]  # fmt: skip
    assert missing == []


def test_no_benchmark_defaults_to_the_committed_results():
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        text = script.read_text()
        assert 'default="benchmarks/results' not in text and 'default=Path("benchmarks/results' not in text, script
