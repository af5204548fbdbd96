"""The CORNN benchmark: SWAT per depth (and best depth by training MSE) against its baselines on every task.

Each (method, depth) entry covers all tasks in one batched run and is saved as soon as it finishes, so an
interrupted benchmark resumes. Methods: `swat`; `swat-tanh` (the same search with every activation fixed to tanh);
`dense-tanh` (fully connected 2-7-..-1 MLPs at the ceiling sizes, Adam); `darts-admm` (relaxed activation choice,
ADMM pruning to SWAT's non-zero weight count for the same task and depth, retraining), and the same with
budgets of 2x and 4x that count (`darts-admm-x2`, `-x4`), to see how many weights it needs to match SWAT's MSE.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from pydantic import Field

from weightspace.data import NAMES, load_cornn
from weightspace.fileio import write_text_atomic
from weightspace.recipes.base import RecipeConfig
from weightspace.report import mse_vs_size
from weightspace.swat import (
    ACTS,
    BaselineConfig,
    SearchConfig,
    SwatAutoencoder,
    SwatError,
    active_neurons,
    darts_admm,
    dense,
    forward,
    mse_on_test,
    nonzero_parameters,
    search,
    stack_tasks,
)

CEILING = {1: 29, 2: 85, 3: 141, 4: 197}
METHODS = ("swat", "swat-tanh", "dense-tanh", "darts-admm")
SWEEP = (2, 4)  # DARTS+ADMM budgets as multiples of SWAT's non-zero weights
DARTS_BUDGETS = {"darts-admm": 1} | {f"darts-admm-x{m}": m for m in SWEEP}  # method -> budget multiple
REPORTED = (*METHODS, *list(DARTS_BUDGETS)[1:])
COMPARABLE = 1.1  # "comparable MSE": within 10 % of SWAT's


class SwatBenchConfig(RecipeConfig):
    ae: Path = Path("runs/swat/ae")  # a trained autoencoder (`weightspace swat train autoencoder`)
    depths: list[int] = [1, 2, 3, 4]
    steps_scale: float = Field(1.0, gt=0)  # multiplies every step count (search and baselines)
    tasks: list[str] | None = None  # CORNN names; None: all 54
    report_only: bool = False  # rebuild README.md and the plot from stored entries alone (no autoencoder needed)


def run(config: SwatBenchConfig, out: str | Path, device: str = "cpu", log: Callable[[str], None] = print) -> str:
    """Every (method, depth) entry on every task, each stored in OUT/results.json as soon as it finishes together
    with the settings that made it; an entry is reused only when those settings match exactly (and the log says
    so). Writes OUT/README.md (the tables) and OUT/mse_vs_nonzero.png."""
    out = Path(out)
    names = config.tasks or list(NAMES)
    tasks = [load_cornn(n) for n in names]
    store_path = out / "results.json"
    store = json.loads(store_path.read_text()) if store_path.is_file() else {}
    store["kind"] = "swat-bench"
    ae = None if config.report_only else SwatAutoencoder.load(config.ae)
    search_config = SearchConfig(steps=round(8001 * config.steps_scale), anneal=round(3000 * config.steps_scale))
    base_config = BaselineConfig(steps=round(4000 * config.steps_scale))
    settings = {
        "tasks": names,
        "search": search_config.model_dump(mode="json"),
        "baselines": base_config.model_dump(mode="json"),
        "autoencoder": None if ae is None else ae.config.model_dump(mode="json"),
    }

    def same(stored: dict) -> bool:  # report_only trusts the stored autoencoder config, checks everything else
        keys = [k for k in settings if not (config.report_only and k == "autoencoder")]
        return all(stored.get("settings", {}).get(k) == settings[k] for k in keys)

    def entry(key: str, make) -> dict:
        if config.report_only and not (key in store and same(store[key])):
            raise SwatError(f"{key}: no stored entry with these settings in {store_path}; run without --report-only")
        if key in store and same(store[key]):
            log(f"{key}: reused from {store_path} (same settings)")
            return store[key]
        start = time.perf_counter()
        store[key] = make() | {"seconds": time.perf_counter() - start, "settings": settings}
        write_text_atomic(store_path, json.dumps(store, indent=1))
        log(f"{key}: {store[key]['seconds']:.0f} s")
        return store[key]

    def from_search(found) -> dict:
        return {
            f.task: {
                "test": f.test_mse,
                "train": f.train_mse,
                "active": f.active_neurons,
                "nonzero": f.nonzero_parameters,
            }
            for f in found
        }

    def from_batch(net) -> dict:
        x, y = stack_tasks(tasks)
        with torch.no_grad():
            train = (forward(net, x) - y).pow(2).mean(1).tolist()
        active, nonzero = active_neurons(net).tolist(), nonzero_parameters(net).tolist()
        return {
            t.name: {"test": m, "train": tr, "active": a, "nonzero": n}
            for t, m, tr, a, n in zip(tasks, mse_on_test(net, tasks), train, active, nonzero)
        }

    fixed = search_config.model_copy(update={"fixed_activation": ACTS.index("tanh")})
    results = {}
    depths = config.depths
    for depth in depths:
        swat = results[f"swat:{depth}"] = entry(
            f"swat:{depth}", lambda d=depth: {"tasks": from_search(search(ae, tasks, d, search_config, device=device))}
        )
        results[f"swat-tanh:{depth}"] = entry(
            f"swat-tanh:{depth}", lambda d=depth: {"tasks": from_search(search(ae, tasks, d, fixed, device=device))}
        )
        results[f"dense-tanh:{depth}"] = entry(
            f"dense-tanh:{depth}", lambda d=depth: {"tasks": from_batch(dense(tasks, d, "tanh", base_config, device))}
        )
        budgets = [_weights_of(swat["tasks"][t.name]["nonzero"], swat["tasks"][t.name]["active"]) for t in tasks]
        for method, times in DARTS_BUDGETS.items():
            key = f"{method}:{depth}"
            results[key] = entry(
                key,
                lambda d=depth, b=[times * n for n in budgets]: {
                    "tasks": from_batch(darts_admm(tasks, d, b, base_config, device))
                },
            )
    best_depth = {t.name: min(depths, key=lambda d: results[f"swat:{d}"]["tasks"][t.name]["train"]) for t in tasks}
    report = _report(results, tasks, depths, best_depth, search_config, base_config)
    write_text_atomic(out / "README.md", report + "\n")
    mse_vs_size(
        {m: {t: results[f"{m}:{d}"]["tasks"][t] for t, d in best_depth.items()} for m in REPORTED},
        out / "mse_vs_nonzero.png",
        "CORNN: test MSE vs non-zero parameters (one point per task, at SWAT's best depth)",
    )
    return report


def _weights_of(nonzero: int, active: int) -> int:
    """Non-zero weights of a SWAT network: its non-zero parameters less the biases (active neurons + output)."""
    return max(1, nonzero - active - 1)


def _report(results: dict, tasks, depths: list[int], best_depth: dict, search_config, base_config) -> str:
    mean_pred = {t.name: (t.y_test - t.y_train.mean()).pow(2).mean().item() for t in tasks}
    rows = [
        [
            "predict-the-mean",
            "-",
            _fmt(statistics.mean(mean_pred.values())),
            _fmt(statistics.median(mean_pred.values())),
            "-",
            "0",
            "1",
        ]
    ]

    def row(label: str, depth, per_task: dict) -> list:
        tests = [per_task[t]["test"] for t in mean_pred]
        wins = sum(per_task[t]["test"] < mean_pred[t] for t in mean_pred)
        return [
            label,
            str(depth),
            _fmt(statistics.mean(tests)),
            _fmt(statistics.median(tests)),
            f"{wins}/{len(tests)}",
            f"{statistics.mean(per_task[t]['active'] for t in mean_pred):.1f}",
            f"{statistics.mean(per_task[t]['nonzero'] for t in mean_pred):.1f}",
        ]

    for method in REPORTED:
        for depth in depths:
            rows.append(row(method, depth, results[f"{method}:{depth}"]["tasks"]))
    best = {t: results[f"swat:{d}"]["tasks"][t] for t, d in best_depth.items()}
    rows.insert(1, row("swat (best depth by train MSE)", "best", best))
    header = ["method", "depth", "mean test MSE", "median", "beats mean", "active neurons", "non-zero params"]
    lines = [
        f"{len(tasks)} CORNN tasks; search {search_config.steps} steps (anneal {search_config.anneal}); "
        f"baselines {base_config.steps} Adam steps per phase. Reference (paper notes): predict-the-mean 0.124, "
        "dense tanh 2-7-7-1 0.0144.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    match = {t: _darts_match(results, t, d) for t, d in best_depth.items()}
    swat_size = {t: results[f"swat:{d}"]["tasks"][t]["nonzero"] for t, d in best_depth.items()}
    fewer = sum(m is not None and m < swat_size[t] for t, m in match.items())
    never = sum(m is None for m in match.values())
    lines += [
        "",
        f"Comparable MSE (at each task's SWAT depth, DARTS+ADMM with budgets 1x, {', '.join(f'{m}x' for m in SWEEP)} "
        f"SWAT's non-zero weights; the smallest whose test MSE is within {COMPARABLE:g}x SWAT's): DARTS+ADMM needs "
        f"more non-zero parameters than SWAT on {len(match) - fewer - never} tasks, does not get there at "
        f"{SWEEP[-1]}x on {never}, and needs fewer on {fewer} (of {len(match)}).",
        "",
        "Per task (SWAT at its best depth; DARTS+ADMM and dense at that depth):",
        "",
        "| task | mean pred. | SWAT depth | SWAT MSE | SWAT non-zero | DARTS+ADMM MSE (1x) | its non-zero "
        "| DARTS+ADMM non-zero at comparable MSE | dense tanh MSE |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t, d in best_depth.items():
        s, a, n = (results[f"{m}:{d}"]["tasks"][t] for m in ("swat", "darts-admm", "dense-tanh"))
        lines.append(
            f"| {t.removeprefix('cornn:')} | {_fmt(mean_pred[t])} | {d} | {_fmt(s['test'])} | {s['nonzero']} | "
            f"{_fmt(a['test'])} | {a['nonzero']} | {match[t] if match[t] is not None else '-'} | "
            f"{_fmt(n['test'])} |"
        )
    return "\n".join(lines)


def _darts_match(results: dict, task: str, depth: int) -> int | None:
    """Non-zero parameters of the smallest DARTS+ADMM budget whose test MSE is comparable to SWAT's (None: none)."""
    target = COMPARABLE * results[f"swat:{depth}"]["tasks"][task]["test"]
    for key in DARTS_BUDGETS:
        r = results[f"{key}:{depth}"]["tasks"][task]
        if r["test"] <= target:
            return r["nonzero"]
    return None


def _fmt(x: float) -> str:
    return f"{x:.4f}" if x >= 1e-3 else f"{x:.1e}"
