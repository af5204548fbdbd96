"""Where a benchmark's result goes: under `runs/bench/` by default, so a rerun never overwrites what is committed;
into `benchmarks/results/`, the committed results the docs' tables are checked against, only with `--publish`
(`--out PATH` names any other file)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from weightspace.fileio import write_text_atomic

RUNS = Path("runs/bench")
PUBLISHED = Path(__file__).resolve().parent / "results"


def add_output(parser: argparse.ArgumentParser, name: str) -> None:
    """`--out PATH` and `--publish` for a result file called `name` (it may hold {placeholders} the script fills)."""
    parser.add_argument("--out", type=Path, help=f"the result file (default {RUNS}/{name})")
    parser.add_argument("--publish", action="store_true", help=f"write benchmarks/results/{name}, the committed one")


def output_path(args: argparse.Namespace, name: str) -> Path:
    """The file this run writes, its folder made."""
    path = args.out or (PUBLISHED if args.publish else RUNS) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_result(args: argparse.Namespace, name: str, result: dict) -> Path:
    """Write `result` as JSON, atomically; returns the path."""
    path = output_path(args, name)
    write_text_atomic(path, json.dumps(result, indent=1) + "\n")
    return path
