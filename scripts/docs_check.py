"""Check the README and the docs pages against what the commands produce: `make docs-check`.

Quick commands are rerun and every number in their block must appear in the new output; long ones are checked
against the stored file their table was made from, row by row: every number of a table row must be in one row of
that file (one line of a stored table, or one JSON result), at the page's precision. A block is checked on every
page that has it. Prints one line per check and exits 1 if any number is missing.

    python scripts/docs_check.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = {
    p.relative_to(ROOT).as_posix(): p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
}
BIN = Path(sys.executable).parent
NUMBER = re.compile(r"(?<![\w.,])-?(?:\d+\.\d+(?:e-?\d+)?|\d{1,3}(?:,\d{3})+)(?![\w.]|,\d)")  # 0.5, 4.7e-04, 91,481


def block_after(text: str, marker: str, until: str | None = None) -> str:
    """A page's lines from `marker` to `until`, or to the end of its fenced block or table."""
    start = text.index(marker)
    ends = [text.find("\n```", start), text.find("\n\n", start), len(text)]
    if until:
        ends.append(text.find(until, start + len(marker)))
    return text[start : min(e for e in ends if e > 0)]


def numbers(text: str, skip: str | None = None) -> list[str]:
    """The numbers of a README block, leaving out what `skip` matches (timings, which no rerun repeats)."""
    return NUMBER.findall(re.sub(skip, "", text) if skip else text)


def missing(expected: list[str], source_text: str) -> list[str]:
    """README numbers not found in the source at the README's precision."""
    source = [float(x) for x in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", source_text)]
    gone = []
    for text in expected:
        if "." not in text or "e" in text:  # 91,481 or 4.66e-04: as printed, or as a plain number in a data file
            if text not in source_text and text.replace(",", "") not in source_text:
                gone.append(text)
            continue
        digits = len(text.split(".")[1])
        if not any(round(s, digits) == float(text) or f"{s:.{digits}f}" == text for s in source):
            gone.append(text)
    return gone


def table_rows(block: str) -> list[str]:
    """A block's table rows, a row whose cells list several values ("0.07 / 0.06 / 0.03") split into one row per
    value (the i-th of every such cell, with the other cells)."""
    rows = []
    for line in block.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cells = line.strip("|").split("|")
        lists = [c.split(" / ") for c in cells]
        width = max(len(c) for c in lists)
        if width == 1:
            rows.append(line)
            continue
        rows += ["|".join(c[i] if len(c) == width else c[0] for c in lists) for i in range(width)]
    return rows


PERCENT = re.compile(r"(?<![\w.,])(\d+)\.(\d+) ?%")


def as_fractions(row: str) -> str:
    """'2.4 %' as the fraction a result file stores, at the same precision: '0.024'."""
    return PERCENT.sub(
        lambda m: f"{int(m.group(1) + m.group(2)) / 10 ** (len(m.group(2)) + 2):.{len(m.group(2)) + 2}f}", row
    )


def unmatched_rows(block: str, skip: str | None, units: list[str]) -> list[str]:
    """Table rows whose numbers are not all in one unit of the source (one line of a stored table, one result
    file): each row is checked against one row of its source, not against numbers anywhere. A percentage may be
    stored as a fraction."""
    bad = []
    for row in table_rows(block):
        plain, fractions = numbers(row, skip), numbers(as_fractions(row), skip)
        if not plain:
            continue
        if not any(all(not missing([a], u) or not missing([b], u) for a, b in zip(plain, fractions)) for u in units):
            bad.append(row.strip())
    return bad


def run(command: str) -> str:
    env = os.environ | {"COLUMNS": "200", "PATH": f"{BIN}:{os.environ['PATH']}"}
    return subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True, env=env, check=True).stdout


def fashion_table() -> str:
    import pandas as pd

    table = pd.read_parquet(ROOT / "benchmarks/results/fashion_lenet5_200_models.parquet")
    last = table[table["epoch"] == table["epoch"].max()]
    metrics = ["test_accuracy", "test_precision", "test_recall", "test_f1", "test_auc"]
    return last.groupby("task")[metrics].mean().to_string() + "\n" + last[metrics].mean().to_string()


SINE = (
    "weightspace zoo sine-inr --out runs/docs-check/sine-inr --networks 1000 && weightspace encode train --zoo "
    "runs/docs-check/sine-inr --target frequency --encoder statnn --epochs 40"
)


def every_result_and_page() -> str:
    """The headline table's source: every stored result and every docs page (whose own blocks are checked)."""
    results = [p for p in sorted((ROOT / "benchmarks/results").rglob("*")) if p.suffix in (".json", ".md")]
    return "\n".join([*(p.read_text() for p in results), *(t for k, t in PAGES.items() if k != "README.md")])


CHECKS = [  # (name, page marker, how: "run COMMAND" | "file PATH" | a function; lines to skip)
    ("headline results", "| result | ours | paper | command |", every_result_and_page, None),
    ("nets show", "$ weightspace nets show lenet5-seed", "run weightspace nets show lenet5-seed", None),
    (
        "encode summary",
        "| benchmark | SNE | best baseline",
        "run python benchmarks/encode_bench.py summary --publish",
        None,
    ),
    ("demo", "$ make demo", "run weightspace demo --out runs/docs-check/demo", r"\d+ s ->"),
    (
        "encode train on the sine-INR zoo",
        "$ weightspace zoo sine-inr --out",
        "run " + SINE,
        r"\d+\.\d+ s/epoch|gap \S+",
    ),
    (
        "static hypernetwork, MNIST-5k",
        "$ weightspace hyper train static --dataset mnist5k",
        "run weightspace hyper train static --dataset mnist5k --epochs 8 --out runs/docs-check/static",
        None,
        "$ weightspace hyper train lstm",
    ),
    (
        "HyperLSTM",
        "$ weightspace hyper train lstm --kind hyper-lstm --steps 1000",
        "run weightspace hyper train lstm --kind hyper-lstm --steps 1000 --out runs/docs-check/hyper-lstm",
        None,
        "$ weightspace hyper sample",
    ),
    ("Fashion-MNIST classes", "| Fashion-MNIST class (ours", fashion_table, r"\| seed: mean[^\n]*"),
    ("engine speed", "| where | M (networks at once)", "file benchmarks/results/zoo_engine_*.json", None),
    ("Net2Net", "| growth | start | params", "file benchmarks/results/net2net_fashion.json", None),
    ("encode INR", "| encoder | test MSE (3 seeds) | paper MSE", "file benchmarks/results/encode_inr.md", None),
    ("encode accuracy", "| encoder | train on | tau on digits", "file benchmarks/results/encode_accuracy.md", None),
    ("encode cross-arch", "| encoder (trained on small CNN", "file benchmarks/results/encode_cross_arch.md", None),
    ("encode seed task", "| method | test accuracy (10 classes", "file benchmarks/results/encode_seed_task.md", None),
    ("encode speed", "| encoder | networks/s (inference)", "file benchmarks/results/encode_speed.md", None),
    ("encode wild", "| encoder | test tau | each seed", "file benchmarks/results/encode_wild.md", None),
    ("encode transfer", "| encoder (trained on small CNNs", "file benchmarks/results/encode_transfer.md", None),
    ("SWAT", "| method | depth | mean test MSE", "file benchmarks/results/swat/README.md", r"\(paper notes: [^)]*\)"),
    ("SIREN fitter", "| method | INR-steps/s", "file benchmarks/results/inr_fit_cpu.md", None),
    ("order groups", "| batch orders (100 networks)", "file benchmarks/results/order_groups.json", None),
    (
        "dense INR encoders",
        "| encoder | variant (2,048 SIRENs",
        "file benchmarks/results/inr_encoders_dense.json",
        None,
    ),
    ("Keras peer", "| work (one-vs-rest LeNet-5s)", "file benchmarks/results/peer_keras_cpu*.json", None),
    ("INR classification", "| encoder | test accuracy %", "file benchmarks/results/encode_inr_classify.md", None),
    (
        "INR classification, all 70,000 Fashion INRs",
        "| encoder (all 70,000 Fashion INRs)",
        "file benchmarks/results/encode_inr_classify_full.md",
        None,
    ),
    (
        "INR classification, MNIST-5k",
        "| encoder (MNIST-5k INRs)",
        "file benchmarks/results/encode_inr_classify_mnist.md",
        None,
    ),
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip the reruns that train (demo, INRs, hypernetworks)")
    args = parser.parse_args()
    if not args.quick:
        shutil.rmtree(ROOT / "runs" / "docs-check", ignore_errors=True)  # every rerun starts from nothing
    failed = 0
    for name, marker, how, skip, *until in CHECKS:
        pages = [page for page, text in PAGES.items() if marker in text]
        if not pages:
            print(f"x {name}: no page has {marker!r}")
            failed += 1
            continue
        blocks = [block_after(PAGES[page], marker, *until) for page in pages]
        expected = [n for block in blocks for n in numbers(block, skip)]
        as_stored = [n for block in blocks for n in numbers(as_fractions(block), skip)]  # or as fractions
        if callable(how):
            source, origin = how(), f"recomputed: {how.__name__}"
        elif how.startswith("run "):
            if args.quick and how.count("weightspace") and name != "nets show":
                print(f"- {name}: skipped")
                continue
            source, origin = run(how[4:]), f"rerun: {how[4:]}"
        else:
            paths = sorted(ROOT.glob(how[5:]))
            units = [json.dumps(json.loads(p.read_text())) for p in paths if p.suffix == ".json"]
            units += [line for p in paths if p.suffix != ".json" for line in p.read_text().splitlines()]
            origin = f"stored: {how[5:]}, row by row"
            rows = [r for block in blocks for r in unmatched_rows(block, skip, units)]
            if rows:
                failed += 1
                print(f"x {name}: rows not in {how[5:]}: " + " ; ".join(rows[:3]))
                continue
            source = "\n".join(units)
        gone = [a for a, b in zip(expected, as_stored) if missing([a], source) and missing([b], source)]
        failed += bool(gone)
        mark = "x" if gone else "ok"
        detail = f"; not found: {', '.join(gone[:8])}" if gone else ""
        print(f"{mark} {name}: {len(expected)} numbers in {', '.join(pages)} ({origin}){detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
