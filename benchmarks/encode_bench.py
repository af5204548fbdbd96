"""The encode benchmarks: four quality tables, their summary, and the SNE-vs-NFN speed table.

    bash benchmarks/encode_zoos.sh                              # the zoos (runs/encode-zoos)
    python benchmarks/encode_bench.py seed-task                  # the committed tables: these six commands
    python benchmarks/encode_bench.py inr
    python benchmarks/encode_bench.py accuracy --epochs-scale 0.5
    python benchmarks/encode_bench.py cross-arch --epochs-scale 0.5
    python benchmarks/encode_bench.py speed
    python benchmarks/encode_bench.py inr-classify               # Fashion-MNIST INRs, every encoder, 3 seeds
    python benchmarks/encode_bench.py inr-classify-mnist         # the same on the 5,000 MNIST digits' INRs
    python benchmarks/encode_bench.py inr-classify-full --device cuda --seeds 0   # all 70,000 (a GPU's budget)
    python benchmarks/encode_bench.py summary                    # SNE vs the best baseline, from the results

Results go to --out (default runs/encode-bench/results; `--publish` writes the committed benchmarks/results/): each
finished entry is saved to encode_<name>.json with the settings that made it (epochs scale, encoder budgets), and
reused only when a rerun's settings are the same (the log says "reused"), so an interrupted run resumes and a run
with other settings recomputes. The table goes to encode_<name>.md. Trained encoders go to runs/encode-bench/models,
reused under the same rule. Budgets (epochs, width) are sized for 2 CPU cores and printed with every table;
`--encoders` runs a subset.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from weightspace.encode import EncodeError, EncoderConfig, FitConfig, Predictor
from weightspace.encode.fit import read_parts
from weightspace.fileio import write_text_atomic
from weightspace.recipes.encoder import evaluate_on_zoo, train_on_zoo
from weightspace.zoo import Zoo

PUBLISHED = Path(__file__).parent / "results"
RESULTS = Path("runs/encode-bench/results")  # --out; --publish sets PUBLISHED
MODELS = Path("runs/encode-bench/models")
SCALE = 1.0  # --epochs-scale, part of every entry's settings
DEVICE = "cpu"  # --device for the INR-classification encoders
PIXELS = True  # --no-pixels: leave out the INR tables' pixel references (a minute of logistic regression)
SNE = {"width": 32, "depth": 1, "dim": 32, "chunk_size": 16}
EPOCHS = {"sne": 30, "deepsets": 40, "nfn-np": 30, "nfn-hnp": 30, "mlp": 60, "statnn": 60, "graph": 30}
ALL = ("sne", "deepsets", "statnn", "mlp", "nfn-np", "nfn-hnp", "graph")
CANONICAL = {"config": {"canonical": True}, "li_weight": 0.0}  # exactly invariant: nothing for LI to do


def settings() -> dict:
    """What decides an entry's numbers besides its name: reused only when these are equal."""
    return {"epochs_scale": SCALE, "sne": SNE, "epochs": EPOCHS}


class Store:
    """Results of one benchmark, keyed by entry name, each saved with its settings after it finishes.

    Every read goes to the file, so runs over different encoders can share one store at the same time.
    """

    def __init__(self, name: str, settings_of=None):
        self.path = RESULTS / f"encode_{name}.json"
        self.settings = settings_of or settings

    def read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.is_file() else {}

    def get(self, key, make):
        entry = self.read().get(key)
        if isinstance(entry, dict) and entry.get("settings") == self.settings():
            print(f"  {key}: reused from {self.path} (same settings)", flush=True)
            return entry
        value = make() | {"settings": self.settings()}
        write_text_atomic(self.path, json.dumps(self.read() | {key: value}, indent=1))
        return value


def train(zoo_dir: Path, kind: str, target: str, name: str, epochs_scale: float = 1.0, **extra) -> dict:
    """Train (or reload) one encoder; its report without the loss history."""
    path = MODELS / f"{name}.safetensors"
    if path.is_file() and path.with_suffix(".report.json").is_file():
        saved = json.loads(path.with_suffix(".report.json").read_text())
        if saved.get("settings") == settings():
            return saved
    config = EncoderConfig(kind=kind, target=target, **(SNE if kind == "sne" else {}), **extra.pop("config", {}))
    epochs = max(1, round(EPOCHS[kind] * epochs_scale))
    fit = FitConfig(epochs=epochs, li_weight=extra.pop("li_weight", 1.0 if kind == "sne" else 0.0))
    start = time.perf_counter()
    model, report = train_on_zoo(Zoo.open(zoo_dir), config, fit, **extra)
    report = {k: v for k, v in report.items() if k not in ("history", "test_predictions")} | {"epochs": epochs}
    report["settings"] = settings()
    report["train_seconds"] = time.perf_counter() - start
    model.save(path)
    write_text_atomic(path.with_suffix(".report.json"), json.dumps(report, indent=1))
    print(f"  {name}: {json.dumps(report['test'])} ({report['train_seconds']:.0f} s)", flush=True)
    return report


def table(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


# -- 1. sine-INR frequency -------------------------------------------------------------------------------------------
def bench_inr(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL) -> str:
    store = Store("inr")
    runs = [(k, k, {}) for k in kinds]
    if "sne" in kinds:
        runs += [
            ("sne (no logit invariance)", "sne", {"li_weight": 0.0}),
            ("sne (no positional encodings)", "sne", {"config": {"positional": False}}),
            ("sne (canonical unit order)", "sne", CANONICAL),
        ]
    rows = []
    for label, kind, extra in runs:
        r = store.get(
            label,
            lambda k=kind, lab=label, ex=extra: train(zoos / "sine-inr", k, "frequency", f"inr-{lab}", scale, **ex),
        )
        rows.append([label, fmt(r["test"]["mse"]), fmt(r["test"]["tau"]), f"{r['permutation_gap']:.1e}"])
    paper = {"sne": 0.098, "sne (no logit invariance)": 0.160, "sne (no positional encodings)": 7.452}
    rows = [r[:2] + [paper.get(r[0], "")] + r[2:] for r in rows]
    return table(rows, ["encoder", "test MSE", "paper MSE", "Kendall tau", "symmetry gap"])


# -- 2. accuracy prediction, same- and cross-dataset --------------------------------------------------------------
DATASETS = ("digits", "mnist5k", "fashion")


def bench_accuracy(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL) -> str:
    store = Store("accuracy")
    rows = []
    for kind in kinds:
        for src in DATASETS:
            name = f"acc-{kind}-{src}"
            train(zoos / f"{src}-smallcnn", kind, "test_accuracy", name, scale)
            model = Predictor.load(MODELS / f"{name}.safetensors")
            cells = []
            for dst in DATASETS:
                r = store.get(
                    f"{kind}:{src}->{dst}",
                    lambda dst=dst, model=model: evaluate_on_zoo(model, Zoo.open(zoos / f"{dst}-smallcnn"), "test")[0],
                )
                cells.append(r["tau"])
            rows.append([kind, src, *(fmt(c) for c in cells), fmt(sum(cells) / len(cells))])
    plot_accuracy(rows, RESULTS / "encode_accuracy.png")
    return table(rows, ["encoder", "train on", *(f"tau on {d}" for d in DATASETS), "mean"])


def plot_accuracy(rows: list[list], path: Path) -> Path:
    """One heatmap per encoder: Kendall tau (0 dark .. 0.8 bright) for every (train zoo, test zoo) pair."""
    from weightspace.report.plots import plt, save_figure

    kinds = list(dict.fromkeys(r[0] for r in rows))
    fig, axes = plt.subplots(1, len(kinds), figsize=(2.4 * len(kinds), 3.1), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        grid = [[float(c) for c in r[2:5]] for r in rows if r[0] == kind]
        ax.imshow(grid, vmin=0, vmax=0.8, cmap="viridis")
        for i, line in enumerate(grid):
            for j, tau in enumerate(line):
                ax.text(j, i, f"{tau:.2f}", ha="center", va="center", color="w" if tau < 0.5 else "k", fontsize=8)
        ax.set_title(f"{kind} (mean {sum(map(sum, grid)) / len(DATASETS) ** 2:.2f})", fontsize=9)
        ax.set_xticks(range(len(DATASETS)), DATASETS, rotation=45, fontsize=7)
        ax.set_yticks(range(len(DATASETS)), DATASETS if ax is axes[0][0] else [], fontsize=7)
        ax.set_xlabel("test zoo", fontsize=7)
    axes[0][0].set_ylabel("train zoo", fontsize=7)
    return save_figure(fig, path)


# -- 3. cross-architecture -----------------------------------------------------------------------------------------
def bench_cross_arch(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL) -> str:
    store = Store("cross_arch")
    rows = []
    for kind in kinds:
        name = f"acc-{kind}-mnist5k"
        train(zoos / "mnist5k-smallcnn", kind, "test_accuracy", name, scale)
        model = Predictor.load(MODELS / f"{name}.safetensors")
        cells = []
        for dst in ("mnist5k-lenet5classic", "mnist5k-mlp"):

            def run(dst=dst, model=model):
                try:
                    return evaluate_on_zoo(model, Zoo.open(zoos / dst), "all")[0]
                except EncodeError as err:
                    return {"error": str(err)}

            r = store.get(f"{kind}:mnist5k-smallcnn->{dst}", run)
            cells.append(fmt(r.get("tau")) if "tau" in r else "cannot read")
        rows.append([kind, *cells])
    return table(
        rows, ["encoder (trained on small CNN, MNIST-5k)", "tau on LeNet-5 classic", "tau on MLP 784-32-32-10"]
    )


# -- 4. the seed's task: which class a one-vs-rest LeNet-5 detects -------------------------------------------------
def bench_seed_task(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL) -> str:
    from weightspace.zoo.classify import classify

    store = Store("seed_task")
    zoo_dir = zoos / "digits-lenet5"
    rows = []
    runs = [(k, k, {"li_weight": 0.0}) for k in kinds]
    if "sne" in kinds:
        runs.append(("sne (canonical unit order)", "sne", CANONICAL))
    for label, kind, extra in runs:

        def run(label=label, kind=kind, extra=extra):
            try:
                r = train(zoo_dir, kind, "task", f"seed-{label}", scale, task="classes", **extra)
                return {"accuracy": r["test"]["accuracy"], "seconds": r["train_seconds"]}
            except EncodeError as err:
                return {"error": str(err)}

        r = store.get(label, run)
        rows.append([label, fmt(r.get("accuracy")) if "accuracy" in r else "cannot read (flatten)"])
    for feats in ("stats", "flat"):
        r = store.get(f"zoo classify {feats}", lambda f=feats: _classify(classify, Zoo.open(zoo_dir), f))
        rows.append([f"`zoo classify` ({r['model']} on {feats})", fmt(r["accuracy"])])
    rows.append(["chance", "0.100"])
    return table(rows, ["method", "test accuracy (10 classes)"])


def _classify(classify, zoo: Zoo, features: str) -> dict:
    """The best classifier on one feature kind (its own stratified 80/20 split of the networks)."""
    scores = {clf: acc for (feats, clf), acc in classify(zoo, target="task").scores.items() if feats == features}
    best = max(scores, key=scores.get)
    return {"accuracy": scores[best], "model": best}


# -- speed: SNE vs NFN on one zoo ----------------------------------------------------------------------------------
def bench_speed(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL) -> str:
    torch.manual_seed(0)
    zoo = Zoo.open(zoos / "mnist5k-smallcnn")
    part = read_parts(zoo, "test_accuracy")[0]
    batch = part.batch.index(slice(0, 256))
    rows = []
    for kind in [k for k in kinds if k != "mlp"]:
        config = EncoderConfig(kind=kind, **(SNE if kind == "sne" else {})).with_example(batch)
        model = Predictor(config).eval()
        with torch.no_grad():
            model(batch.index(slice(0, 32)))
            start = time.perf_counter()
            for i in range(0, len(batch), 32):
                model(batch.index(slice(i, i + 32)))
            per_s = len(batch) / (time.perf_counter() - start)
        model.train()
        opt = torch.optim.Adam(model.parameters())
        start = time.perf_counter()
        for i in range(0, len(batch), 32):
            loss = model(batch.index(slice(i, i + 32))).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        epoch_s = (time.perf_counter() - start) * len(part) / len(batch)
        rows.append([kind, f"{per_s:.0f}", f"{epoch_s:.1f}", sum(p.numel() for p in model.encoder.parameters())])
    base = float(rows[[r[0] for r in rows].index("nfn-np")][1])
    rows = [r[:2] + [f"{float(r[1]) / base:.2f}x"] + r[2:] for r in rows]
    return table(rows, ["encoder", "networks/s (inference)", "vs nfn-np", "s/epoch (train, no LI)", "params"])


# -- 5. INR classification: the field's benchmark, on our regenerated Fashion-MNIST INRs ---------------------------
INR_SEEDS = (0, 1, 2)
INR_EPOCHS = {"statnn": 100, "mlp": 100, "nfn-np": 30, "nfn-hnp": 30, "deepsets": 25, "graph": 40, "sne": 3}
INR_RUNS = {  # label -> (kind, encoder config, fit settings); cheap first, so a partial run still fills rows
    "statnn": ("statnn", {}, {}),
    "mlp (flat weights)": ("mlp", {}, {"augment": ["permute", "sign-flip"]}),
    "nfn-np": ("nfn-np", {}, {}),
    "nfn-hnp": ("nfn-hnp", {}, {}),
    "deepsets": ("deepsets", {}, {}),
    "graph": ("graph", {"width": 32, "depth": 2}, {"augment": ["sign-flip"]}),
    "sne (canonical unit order)": ("sne", {"canonical": True}, {"li_weight": 0.0}),
    "sne": ("sne", {}, {"li_weight": 1.0}),
}
# test accuracy (%) on DWSNets' INR sets, as each paper reports it (the MNIST set holds all 70,000 digits)
INR_PUBLISHED = {
    "fashion-inrs": {"DWSNets (Navon et al. 2023)": 67.06, "ScaleGMN-B (Kalogeropoulos et al. 2024)": 80.78},
    "mnist5k-inrs": {
        "DWSNets (Navon et al. 2023)": 85.71,
        "NFN-HNP on DWSNets' set (Zhou et al. 2023)": 79.11,
        "neural graphs, no probe features (Kofinas et al. 2024)": 91.40,
        "ScaleGMN-B (Kalogeropoulos et al. 2024)": 96.59,
    },
}


def train_inr(zoo_dir: Path, kind: str, config: dict, fit: dict, seed: int, scale: float) -> dict:
    """One encoder trained on the INR zoo's train split (best val epoch) and scored on its test split."""
    epochs = max(1, round(INR_EPOCHS[kind] * scale))
    cfg = EncoderConfig(kind=kind, target="task", task="classes", **(SNE if kind == "sne" else {}), **config)
    fit_cfg = FitConfig(epochs=epochs, batch_size=64, seed=seed, li_weight=fit.get("li_weight", 0.0),
                        augment=fit.get("augment", []))  # fmt: skip
    start = time.perf_counter()
    _, report = train_on_zoo(Zoo.open(zoo_dir), cfg, fit_cfg, split_seed=seed, device=DEVICE)
    print(f"  {kind} seed {seed}: {report['test']} ({time.perf_counter() - start:.0f} s)", flush=True)
    keep = ("test", "encoder_parameters", "seconds_per_epoch", "train_networks", "permutation_gap")
    return {k: report[k] for k in keep} | {"epochs": epochs, "config": config, "fit": fit}


def pixel_references(zoo: Zoo) -> dict:
    """Logistic regression on the images themselves and on the INRs drawn back to pixels (same splits): how much of
    the class the fits keep, whatever an encoder can read from the weights."""
    from sklearn.linear_model import LogisticRegression

    from weightspace.zoo.image_inrs import decode

    originals, drawn = decode(zoo)
    split, y = zoo.table["split"].to_numpy(), zoo.table["label"].to_numpy()
    train, test = split == "train", split == "test"
    accuracy = {}
    for name, x in (("the original pixels", originals), ("the INRs' reconstructions", drawn.clamp(0, 1))):
        x = x.reshape(len(x), -1).numpy()
        model = LogisticRegression(max_iter=300).fit(x[train], y[train])
        accuracy[f"logistic regression on {name}"] = float(model.score(x[test], y[test]))
    return {"accuracy": accuracy}


def inr_settings() -> dict:
    """What decides an INR-classification entry: reused only when these are equal."""
    fixed = {"epochs_scale": SCALE, "sne": SNE, "inr_epochs": INR_EPOCHS, "runs": INR_RUNS, "seeds": INR_SEEDS}
    if DEVICE != "cpu":  # other kernels, other last bits
        fixed["device"] = torch.device(DEVICE).type
    return json.loads(json.dumps(fixed))  # as the store holds it (tuples as lists)


INR_STORES = {
    "fashion-inrs": "inr_classify",
    "mnist5k-inrs": "inr_classify_mnist",
    "fashion-inrs-full": "inr_classify_full",
}
INR_PUBLISHED["fashion-inrs-full"] = INR_PUBLISHED["fashion-inrs"]


def bench_inr_classify(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL, zoo_name: str = "fashion-inrs") -> str:
    store = Store(INR_STORES[zoo_name], inr_settings)
    zoo_dir = zoos / zoo_name
    zoo = Zoo.open(zoo_dir)
    rows = []
    for label, (kind, config, fit) in INR_RUNS.items():
        if kind not in kinds:
            continue
        runs = [
            store.get(f"{label} seed {s}", lambda k=kind, c=config, f=fit, s=s: train_inr(zoo_dir, k, c, f, s, scale))
            for s in INR_SEEDS
        ]
        acc = torch.tensor([100 * r["test"]["accuracy"] for r in runs])
        spread = f" ± {acc.std():.2f}" if len(acc) > 1 else ""
        rows.append([
            label, f"{acc.mean():.2f}{spread}", f"{runs[0]['encoder_parameters']:,}",
            f"{sum(r['seconds_per_epoch'] for r in runs) / len(runs):.1f}", runs[0]["epochs"],
        ])  # fmt: skip
    rows.sort(key=lambda r: -float(r[1].split(" ")[0]))
    rows += [[f"*{name}, published*", f"{acc:.2f}", "", "", ""] for name, acc in INR_PUBLISHED[zoo_name].items()]
    if PIXELS:
        pixels = store.get("pixels", lambda: pixel_references(zoo))
        rows += [[f"*reference: {name}*", f"{100 * acc:.2f}", "", "", ""] for name, acc in pixels["accuracy"].items()]
    fit_psnr = zoo.table["psnr"]
    note = (
        f"{len(zoo):,} regenerated INRs ({', '.join(f'{k} {v}' for k, v in zoo.table['split'].value_counts().items())}"
        f"; fit PSNR mean {fit_psnr.mean():.1f} dB), {len(INR_SEEDS)} seeds (init and batch order; the split is the "
        "dataset's own), mean ± std test accuracy (%)"
    )
    where = "2 cores" if DEVICE == "cpu" else torch.cuda.get_device_name(torch.device(DEVICE))
    header = ["encoder", "test accuracy %", "encoder params", f"s/epoch ({where})", "epochs"]
    return note + "\n\n" + table(rows, header)


# -- summary: SNE against the best baseline of each benchmark ---------------------------------------------------
def bench_summary(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL) -> str:
    """Per benchmark, each encoder's score from the stored results; SNE's ratio to the best baseline (> 1: better)."""
    acc, cross = Store("accuracy").read(), Store("cross_arch").read()
    inr, seed = Store("inr").read(), Store("seed_task").read()

    def mean(values: list) -> float | None:
        return sum(values) / len(values) if values else None

    scores = {  # benchmark -> (higher is better, {encoder: score})
        "sine-INR frequency (test MSE)": (False, {k: inr[k]["test"]["mse"] for k in ALL if k in inr}),
        "accuracy prediction (mean tau, 3x3 dataset pairs)": (
            True,
            {k: mean([v["tau"] for key, v in acc.items() if key.startswith(f"{k}:")]) for k in ALL},
        ),
        "cross-architecture (mean tau, 2 unseen architectures)": (
            True,
            {k: mean([v["tau"] for key, v in cross.items() if key.startswith(f"{k}:") and "tau" in v]) for k in ALL},
        ),
        "seed task (test accuracy)": (True, {k: seed[k].get("accuracy") for k in ALL if k in seed}),
    }
    rows, ratios = [], []
    for name, (higher, by_kind) in scores.items():
        base = {k: v for k, v in by_kind.items() if k != "sne" and v is not None}
        best = (max if higher else min)(base, key=base.get)
        sne = by_kind.get("sne")
        ratio = None if sne is None else (sne / base[best] if higher else base[best] / sne)
        ratios.append(ratio)
        rows.append([name, fmt(sne), f"{best} {fmt(base[best])}", fmt(ratio, 2)])
    if None not in ratios:
        rows.append(["**mean ratio**", "", "", f"**{sum(ratios) / len(ratios):.2f}**"])
    return table(rows, ["benchmark", "SNE", "best baseline", "SNE vs best (> 1: SNE better)"])


BENCHES = {
    "inr": bench_inr,
    "accuracy": bench_accuracy,
    "cross-arch": bench_cross_arch,
    "seed-task": bench_seed_task,
    "speed": bench_speed,
    "inr-classify": bench_inr_classify,
    "inr-classify-mnist": lambda zoos, scale, kinds: bench_inr_classify(zoos, scale, kinds, "mnist5k-inrs"),
    "inr-classify-full": lambda zoos, scale, kinds: bench_inr_classify(zoos, scale, kinds, "fashion-inrs-full"),
    "summary": bench_summary,
}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench", choices=[*BENCHES, "all"])
    parser.add_argument("--zoos", type=Path, default=Path("runs/encode-zoos"))
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="multiply every encoder's epochs")
    parser.add_argument("--encoders", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results go (default %(default)s)")
    parser.add_argument("--publish", action="store_true", help=f"write into {PUBLISHED} (the committed results)")
    parser.add_argument("--device", default="cpu", help="where the INR-classification encoders train")
    parser.add_argument("--seeds", help="INR classification: comma-separated seeds (default 0,1,2)")
    parser.add_argument("--no-pixels", action="store_true", help="INR classification: no pixel references")
    args = parser.parse_args()
    DEVICE, PIXELS = args.device, not args.no_pixels
    if args.seeds:
        INR_SEEDS = tuple(int(s) for s in args.seeds.split(","))
    RESULTS = PUBLISHED if args.publish else args.out
    SCALE = args.epochs_scale
    kinds = tuple(args.encoders.split(","))
    if unknown := set(kinds) - set(ALL):
        parser.error(f"unknown encoders {sorted(unknown)}; choose from {', '.join(ALL)}")
    for name in BENCHES if args.bench == "all" else [args.bench]:
        budget = INR_EPOCHS if name.startswith("inr-classify") else EPOCHS
        print(f"## {name}  (SNE {SNE}; epochs {budget} x {args.epochs_scale})", flush=True)
        result = BENCHES[name](args.zoos, args.epochs_scale, kinds)
        write_text_atomic(RESULTS / f"encode_{name.replace('-', '_')}.md", result + "\n")
        print(result, flush=True)
