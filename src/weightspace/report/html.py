"""One self-contained HTML page from a zoo summary: styles inline, figures as inline PNG data, no script, no request
leaves the file."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from typing import Any

import numpy as np

from weightspace.nets import load_spec
from weightspace.report.plots import architecture_figure, plt

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1180px; padding: 0 24px 48px; color: #222; }
h1 { margin: 28px 0 4px; } h2 { margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
nav a { margin-right: 14px; } .muted { color: #666; } .bad { color: #b00020; } .ok { color: #1b7f3b; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border-bottom: 1px solid #e6e6e6; padding: 3px 10px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } th { background: #f6f6f6; }
pre { background: #f6f6f6; padding: 10px; overflow-x: auto; font-size: 12px; max-height: 320px; }
figure { margin: 8px 0 20px; } figcaption { color: #666; font-size: 12px; } img { max-width: 100%; }
"""
COLOURS = plt.cm.tab10.colors


def png_figure(png: bytes, caption: str) -> str:
    """A PNG inline in the page, with its caption."""
    data = base64.b64encode(png).decode()
    return f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}"><figcaption>' \
           f"{html.escape(caption)}</figcaption></figure>"  # fmt: skip


def figure(fig, caption: str) -> str:
    """A matplotlib figure drawn inline (and closed)."""
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return png_figure(buffer.getvalue(), caption)


def table(header: list[str], rows: list[list[Any]]) -> str:
    """An HTML table; numbers right-aligned."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    text = html.escape(_fmt(value))
    numeric = isinstance(value, int | float) or bool(re.fullmatch(r"[-+0-9.,e ±]+", _fmt(value)))
    return f'<td class="n">{text}</td>' if numeric else f"<td>{text}</td>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:.4g}"
    return "" if value is None else str(value)


def page(title: str, heading: str, intro: str, sections: list[tuple[str, str, str]]) -> str:
    """A whole self-contained page: styles inline, a navigation line, then (anchor, title, body) sections."""
    nav = "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{html.escape(t)}</h2>{b}</section>' for a, t, b in sections)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{html.escape(heading)}</h1>{intro}<nav>{nav}</nav>{body}</body></html>"
    )


def provenance_section(p: dict[str, Any]) -> str:
    problems = p["verify"]
    if problems is None:
        status = '<p class="muted">verify not run (run <code>weightspace zoo verify</code>)</p>'
    elif problems:
        items = "".join(f"<li>{html.escape(x)}</li>" for x in problems)
        status = f'<p class="bad">verify found {len(problems)} problem(s):</p><ul>{items}</ul>'
    else:
        status = '<p class="ok">verify: every hash, shard, row and shape checks out</p>'
    facts = [["zoo", p["name"]], ["directory", p["root"]], ["networks", p["networks"]], ["rows", p["rows"]],
             ["shards", p["shards"]], ["schema", p["schema"]], ["weightspace", p["weightspace"]],
             *[[k, v] for k, v in p["hashes"].items()]]  # fmt: skip
    specs = "".join(
        f"<h3>{html.escape(s['name'] or 'architecture')} — {s['parameters']:,} parameters</h3>"
        + (figure(architecture_figure(load_spec(s["spec"])), "the architecture, input on the left") if "spec" in s
           else "")
        + _layer_table(s["layers"])
        for s in p["specs"]
    )  # fmt: skip
    config = html.escape(json.dumps(p["config"], indent=1))
    return (
        table(["", ""], facts) + status + f"<p>Made by: <code>{html.escape(p['command'])}</code></p>" + specs
        + f"<details><summary>config / source</summary><pre>{config}</pre></details>"
    )  # fmt: skip


def _layer_table(layers: list) -> str:
    """A chain's rows (index, layer, output, parameters) or a graph's (node, op, inputs, output, parameters)."""
    if layers and len(layers[0]) == 5:
        rows = [[n, d, ", ".join(i), str(list(o)), f"{c:,}" if c else ""] for n, d, i, o, c in layers]
        return table(["node", "op", "inputs", "output", "parameters"], rows)
    rows = [[i, d, str(list(o)), f"{c:,}" if c else ""] for i, d, o, c in layers]
    return table(["#", "layer", "output", "parameters"], rows)


def metrics_section(m: dict[str, Any], distributions: dict[str, Any]) -> str:
    if not m["metrics"]:
        return '<p class="muted">no test metrics recorded in this zoo</p>'
    header = ["task", "networks"] + [x.removeprefix("test_") for x in m["metrics"]]
    rows = [
        [r["task"], r["networks"]] + [f"{r[x]['mean']:.3f} ± {r[x]['std']:.3f}" if r[x]["mean"] is not None else ""
                                      for x in m["metrics"]]
        for r in m["rows"]
    ]  # fmt: skip
    body = table(header, rows) + '<p class="muted">mean ± std over each task\'s networks at their last checkpoint</p>'
    if distributions:
        body += _distribution_figure(distributions)
    return body


def _distribution_figure(distributions: dict[str, Any]) -> str:
    names = list(distributions)
    cols = min(3, len(names))
    nrows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(3.9 * cols, 2.5 * nrows), squeeze=False)
    for ax, metric in zip(axes.flat, names):
        d = distributions[metric]
        edges = np.asarray(d["edges"])
        centres, width = (edges[1:] + edges[:-1]) / 2, (edges[1] - edges[0])
        bottom = np.zeros(len(centres))
        for i, (task, counts) in enumerate(d["counts"].items()):
            ax.bar(centres, counts, width, bottom=bottom, color=COLOURS[i % 10], label=task)
            bottom += np.asarray(counts)
        ax.set_title(metric, fontsize=9)
        ax.set_ylabel("networks", fontsize=8)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    if len(next(iter(distributions.values()))["counts"]) <= 12:
        axes.flat[0].legend(fontsize=6, ncol=2)
    return figure(fig, "distribution of each test metric, stacked by task (last checkpoint)")


def curves_section(c: dict[str, Any]) -> str:
    if not c:
        return '<p class="muted">one checkpoint per network: no training curves</p>'
    names = list(c)
    fig, axes = plt.subplots(1, len(names), figsize=(3.1 * len(names), 2.7), squeeze=False)
    for ax, metric in zip(axes[0], names):
        for i, (task, s) in enumerate(c[metric].items()):
            mean, std = np.asarray(s["mean"]), np.asarray(s["std"])
            ax.plot(s["epoch"], mean, color=COLOURS[i % 10], label=task)
            ax.fill_between(s["epoch"], mean - std, mean + std, color=COLOURS[i % 10], alpha=0.15)
        ax.set_title(metric, fontsize=9)
        ax.set_xlabel("epoch")
    return figure(fig, "mean ± std per task across the checkpoints")


def weights_section(w: dict[str, Any]) -> str:
    layers = w["layers"]
    tasks = list(layers[0]["tasks"]) if layers else []
    rows = [[layer["name"]] + [f"{layer['tasks'][t]['norm_mean']:.3f} ± {layer['tasks'][t]['norm_std']:.3f}"
                               for t in tasks] for layer in layers]  # fmt: skip
    body = table(["tensor (L2 norm)"] + tasks, rows)
    cols = min(4, len(layers)) or 1
    nrows = (len(layers) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(3.0 * cols, 2.2 * nrows), squeeze=False)
    for ax, layer in zip(axes.flat, layers):
        edges = np.asarray(layer["edges"])
        centres = (edges[1:] + edges[:-1]) / 2
        for i, t in enumerate(tasks):
            counts = np.asarray(layer["tasks"][t]["histogram"], dtype=float)
            ax.plot(centres, counts / max(counts.sum(), 1), color=COLOURS[i % 10], lw=1)
        ax.set_title(layer["name"], fontsize=8)
        ax.set_yticks([])
    for ax in list(axes.flat)[len(layers) :]:
        ax.axis("off")
    return body + figure(fig, f"weight value histograms per tensor, one line per task ({w['networks']} networks)")


def extremes_section(e: dict[str, Any]) -> str:
    if not e:
        return '<p class="muted">no metric to rank networks by</p>'
    header = list(e["best"][0]) if e["best"] else []
    order = "lower is better" if e["lower_is_better"] else "higher is better"
    best = table(header, [list(r.values()) for r in e["best"]])
    worst = table(header, [list(r.values()) for r in e["worst"]])
    return f"<p>ranked by <b>{html.escape(e['metric'])}</b> ({order})</p><h3>best</h3>{best}<h3>worst</h3>{worst}"


def beside_section(b: dict[str, Any]) -> str:
    body = ""
    if "classify" in b:
        c = b["classify"]
        rows = [[feats] + [c["scores"].get(f"{feats}+{clf}") for clf in c["classifiers"]] for feats in c["features"]]
        body += f"<h3>which task, from the weights? (chance {c['chance']:.3f})</h3>" + table(
            ["features", *c["classifiers"]], rows
        )
        matrix = np.asarray(c["confusion"])
        fig, ax = plt.subplots(figsize=(0.9 + 0.45 * len(matrix), 0.7 + 0.42 * len(matrix)))
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(c["labels"])), c["labels"], rotation=90, fontsize=7)
        ax.set_yticks(range(len(c["labels"])), c["labels"], fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        body += figure(fig, f"confusion matrix of the best pair ({' + '.join(c['best'])})")
    for enc in b.get("encoders", []):
        body += f"<h3>encoder {html.escape(enc['name'])} → {html.escape(str(enc['target']))}</h3>"
        body += table(["metric", "test"], [[k, v] for k, v in enc["test"].items()])
        if enc.get("predictions"):
            pred, true = (np.asarray(enc["predictions"][k], dtype=float) for k in ("predicted", "true"))
            fig, ax = plt.subplots(figsize=(3.6, 3.4))
            ax.scatter(true, pred, s=8, alpha=0.6)
            low, high = float(np.nanmin([true.min(), pred.min()])), float(np.nanmax([true.max(), pred.max()]))
            ax.plot([low, high], [low, high], color="#999", lw=1)
            ax.set_xlabel("true")
            ax.set_ylabel("predicted")
            body += figure(fig, f"{enc['name']}: predicted vs true on the test networks")
    for emb in b.get("embeddings", []):
        xy = np.asarray(emb["xy"])
        fig, ax = plt.subplots(figsize=(4.6, 3.8))
        labels = emb["label"] or ["all"] * len(xy)
        for i, label in enumerate(dict.fromkeys(labels)):
            mask = np.asarray(labels) == label
            ax.scatter(xy[mask, 0], xy[mask, 1], s=7, color=COLOURS[i % 10], label=label)
        if len(set(labels)) <= 12:
            ax.legend(fontsize=7, markerscale=2)
        body += figure(fig, f"embedding map ({emb['name']}): first two principal components, coloured by task")
    return body or '<p class="muted">no classify, encoder or embedding results beside this zoo</p>'


SECTIONS = (("provenance", "Provenance"), ("metrics", "Metrics per task"), ("curves", "Training curves"),
            ("weights", "Weights per layer"), ("extremes", "Best and worst networks"),
            ("results", "Results beside the zoo"))  # fmt: skip


def render(summary: dict[str, Any]) -> str:
    p = summary["provenance"]
    bodies = {
        "provenance": provenance_section(p),
        "metrics": metrics_section(summary["metrics"], summary["distributions"]),
        "curves": curves_section(summary["curves"]),
        "weights": weights_section(summary["weights"]),
        "extremes": extremes_section(summary["extremes"]),
        "results": beside_section(summary["beside"]),
    }
    intro = (f'<p class="muted">{p["networks"]:,} networks, {p["rows"]:,} rows — made with weightspace '
             f'{p["weightspace"]}</p>')  # fmt: skip
    sections = [(a, t, bodies[a]) for a, t in SECTIONS]
    return page(f"{p['name']} — weightspace zoo report", p["name"], intro, sections)
