"""The encode benchmarks: four quality tables, their summary, and the SNE-vs-NFN speed table.

    bash benchmarks/encode_zoos.sh                              # the zoos (runs/encode-zoos)
    python benchmarks/encode_bench.py seed-task                  # the committed tables: these six commands
    python benchmarks/encode_bench.py inr
    python benchmarks/encode_bench.py accuracy --epochs-scale 0.5
    python benchmarks/encode_bench.py cross-arch --epochs-scale 0.5
    python benchmarks/encode_bench.py speed
    python benchmarks/encode_bench.py inr-classify               # Fashion-MNIST INRs, every encoder, 3 seeds
    python benchmarks/encode_bench.py inr-classify-mnist         # the same on the 5,000 MNIST digits' INRs
    python benchmarks/encode_bench.py inr-classify-full --epochs-scale 0.25 --no-pixels   # all 70,000 INRs
    python benchmarks/encode_bench.py wild                       # 1,200 drawn CNNs: accuracy prediction and cost
    python benchmarks/encode_bench.py transfer                   # small CNNs -> resnet and vit-tiny, untrained
    python benchmarks/encode_bench.py summary                    # SNE vs the best baseline, from the results

Results go to --out (default runs/encode-bench/results; `--publish` writes the committed benchmarks/results/): each
finished entry is saved to encode_<name>.json with the settings that made it (epochs scale, its encoder's budget), and
reused only when a rerun's settings are the same (the log says "reused"), so an interrupted run resumes and a run
with other settings recomputes. The table goes to encode_<name>.md. Trained encoders go to runs/encode-bench/models,
reused under the same rule. Budgets (epochs, width) are sized for 2 CPU cores and printed with every table;
`--encoders` runs a subset, `--device cuda` trains on a GPU.

Every table is mean ± std over `--seeds` (default 0,1,2: each seed moves the encoder's init and batch order and,
for zoos without their own split, which networks are held out), ranked by the mean. Seed 0 is what the single-seed
tables stored, so their entries count as seed 0.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from weightspace.encode import EncodeError, EncoderConfig, FitConfig, Predictor, read_parts
from weightspace.fileio import write_text_atomic
from weightspace.recipes import evaluate_on_zoo, train_on_zoo
from weightspace.zoo import Zoo

PUBLISHED = Path(__file__).parent / "results"
RESULTS = Path("runs/encode-bench/results")  # --out; --publish sets PUBLISHED
MODELS = Path("runs/encode-bench/models")
SCALE = 1.0  # --epochs-scale, part of every entry's settings
SEEDS = (0, 1, 2)  # --seeds: each moves the encoder's init and batch order, and the split of a zoo without its own
DEVICE = "cpu"  # --device for the INR-classification encoders
PIXELS = True  # --no-pixels: leave out the INR tables' pixel references (a minute of logistic regression)
SNE = {"width": 32, "depth": 1, "dim": 32, "chunk_size": 16}
EPOCHS = {"sne": 30, "deepsets": 40, "nfn-np": 30, "nfn-hnp": 30, "mlp": 60, "statnn": 60, "graph": 30, "probe": 30}
ALL = ("sne", "deepsets", "statnn", "mlp", "nfn-np", "nfn-hnp", "graph", "probe")
CANONICAL = {"config": {"canonical": True}, "li_weight": 0.0}  # exactly invariant: nothing for LI to do


def settings(kind: str | None) -> dict:
    """What decides one entry's numbers besides its name: reused only when these are equal. Only the entry's own
    encoder budget counts, so adding an encoder or changing another's budget keeps every stored entry."""
    if kind is None:  # an entry no encoder made (a `zoo classify` baseline)
        return {}
    return {"epochs_scale": SCALE, "epochs": EPOCHS[kind]} | ({"sne": SNE} if kind == "sne" else {})


class Store:
    """Results of one benchmark, keyed by entry name, each saved with its settings after it finishes.

    Every read goes to the file, so runs over different encoders can share one store at the same time.
    """

    def __init__(self, name: str, settings_of=None):
        self.path = RESULTS / f"encode_{name}.json"
        self.settings = settings_of or settings

    def read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.is_file() else {}

    def get(self, key, make, kind: str | None):
        """The stored entry `key` if `kind`'s settings made it, else make() it now and store it."""
        entry = self.read().get(key)
        if isinstance(entry, dict) and entry.get("settings") == self.settings(kind):
            print(f"  {key}: reused from {self.path} (same settings)", flush=True)
            return entry
        value = make() | {"settings": self.settings(kind)}
        write_text_atomic(self.path, json.dumps(self.read() | {key: value}, indent=1))
        return value


def seeded(name: str, seed: int, sep: str = " seed ") -> str:
    """An entry's (or model's) name for one seed: seed 0 keeps the plain name, as the single-seed tables stored it."""
    return name if seed == 0 else f"{name}{sep}{seed}"


def spread(values: list[float], digits: int = 3) -> str:
    """mean ± std over seeds (the mean alone for one seed)."""
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def seed_of(key: str) -> int:
    """The seed of a stored entry's name (seed 0 has no suffix)."""
    return int(key.rsplit(" seed ", 1)[1]) if " seed " in key else 0


def mean_of(cell: str) -> float:
    return float(cell.split(" ")[0])


def train(zoo_dir: Path, kind: str, target: str, name: str, epochs_scale: float = 1.0, seed: int = 0, **extra) -> dict:
    """Train (or reload) one encoder with one seed (init, batch order, and the zoo's split); its report without the
    loss history (which stays in the model's .report.json, for diagnosing a run that did not learn)."""
    path = MODELS / f"{seeded(name, seed, '-seed')}.safetensors"
    if path.is_file() and path.with_suffix(".report.json").is_file():
        saved = json.loads(path.with_suffix(".report.json").read_text())
        if saved.get("settings") == settings(kind):
            return {k: v for k, v in saved.items() if k != "history"}
    config = EncoderConfig(kind=kind, target=target, **(SNE if kind == "sne" else {}), **extra.pop("config", {}))
    epochs = max(1, round(EPOCHS[kind] * epochs_scale))
    li_weight = extra.pop("li_weight", 1.0 if kind == "sne" else 0.0)
    fit = FitConfig(epochs=epochs, li_weight=li_weight, augment=extra.pop("augment", []), seed=seed)
    start = time.perf_counter()
    model, report = train_on_zoo(Zoo.open(zoo_dir), config, fit, split_seed=seed, device=DEVICE, **extra)
    report = {k: v for k, v in report.items() if k != "test_predictions"} | {"epochs": epochs}
    report["settings"] = settings(kind)
    report["train_seconds"] = time.perf_counter() - start
    model.save(path)
    write_text_atomic(path.with_suffix(".report.json"), json.dumps(report, indent=1))
    report.pop("history")
    print(f"  {seeded(name, seed)}: {json.dumps(report['test'])} ({report['train_seconds']:.0f} s)", flush=True)
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
        rs = [
            store.get(
                seeded(label, seed),
                lambda k=kind, lab=label, ex=extra, s=seed: train(
                    zoos / "sine-inr", k, "frequency", f"inr-{lab}", scale, s, **ex
                ),
                kind,
            )
            for seed in SEEDS
        ]
        gaps = [r["permutation_gap"] for r in rs]
        rows.append([label, spread([r["test"]["mse"] for r in rs]), spread([r["test"]["tau"] for r in rs]),
                     f"{sum(gaps) / len(gaps):.1e}"])  # fmt: skip
    rows.sort(key=lambda r: mean_of(r[1]))  # ranked by the mean test MSE
    paper = {"sne": 0.098, "sne (no logit invariance)": 0.160, "sne (no positional encodings)": 7.452}
    rows = [r[:2] + [paper.get(r[0], "")] + r[2:] for r in rows]
    return table(rows, ["encoder", f"test MSE ({len(SEEDS)} seeds)", "paper MSE", "Kendall tau", "symmetry gap"])


# -- 2. accuracy prediction, same- and cross-dataset --------------------------------------------------------------
DATASETS = ("digits", "mnist5k", "fashion")


def bench_accuracy(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL) -> str:
    store = Store("accuracy")
    rows, grids = [], {}
    for kind in kinds:
        for src in DATASETS:
            taus = {dst: [] for dst in DATASETS}
            for seed in SEEDS:
                name = f"acc-{kind}-{src}"
                train(zoos / f"{src}-smallcnn", kind, "test_accuracy", name, scale, seed)
                model = Predictor.load(MODELS / f"{seeded(name, seed, '-seed')}.safetensors")
                for dst in DATASETS:
                    r = store.get(
                        seeded(f"{kind}:{src}->{dst}", seed),
                        lambda dst=dst, model=model, seed=seed: evaluate_on_zoo(
                            model, Zoo.open(zoos / f"{dst}-smallcnn"), "test", seed
                        )[0],
                        kind,
                    )
                    taus[dst].append(r["tau"])
            means = [sum(t) / len(t) for t in taus.values()]
            grids.setdefault(kind, []).append(means)
            rows.append([kind, src, *(spread(t) for t in taus.values()), f"{sum(means) / len(means):.3f}"])
    plot_accuracy(grids, RESULTS / "encode_accuracy.png")
    order = {k: -sum(map(sum, g)) for k, g in grids.items()}  # encoders ranked by their mean tau
    rows.sort(key=lambda r: order[r[0]])
    header = ["encoder", "train on", *(f"tau on {d}" for d in DATASETS), "mean"]
    return f"Kendall tau, mean ± std over {len(SEEDS)} seeds (split and init)\n\n" + table(rows, header)


def plot_accuracy(grids: dict[str, list[list[float]]], path: Path) -> Path:
    """One heatmap per encoder: mean Kendall tau (0 dark .. 0.8 bright) for every (train zoo, test zoo) pair."""
    from weightspace.report import plt, save_figure

    fig, axes = plt.subplots(1, len(grids), figsize=(2.4 * len(grids), 3.1), squeeze=False)
    for ax, (kind, grid) in zip(axes[0], grids.items()):
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
        cells = {dst: [] for dst in ("mnist5k-lenet5classic", "mnist5k-mlp")}
        for seed in SEEDS:
            name = f"acc-{kind}-mnist5k"
            train(zoos / "mnist5k-smallcnn", kind, "test_accuracy", name, scale, seed)
            model = Predictor.load(MODELS / f"{seeded(name, seed, '-seed')}.safetensors")
            for dst in cells:

                def run(dst=dst, model=model):
                    try:
                        return evaluate_on_zoo(model, Zoo.open(zoos / dst), "all")[0]
                    except EncodeError as err:
                        return {"error": str(err)}

                r = store.get(seeded(f"{kind}:mnist5k-smallcnn->{dst}", seed), run, kind)
                cells[dst].append(r.get("tau"))
        rows.append([kind, *(spread(t) if None not in t else "cannot read" for t in cells.values())])
    rows.sort(key=lambda r: -sum(mean_of(c) for c in r[1:]) if "cannot read" not in r else 0)
    return f"Kendall tau, mean ± std over {len(SEEDS)} seeds\n\n" + table(
        rows, ["encoder (trained on small CNN, MNIST-5k)", "tau on LeNet-5 classic", "tau on MLP 784-32-32-10"]
    )


# -- 4. the seed's task: which class a one-vs-rest LeNet-5 detects -------------------------------------------------
def bench_seed_task(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL) -> str:
    from weightspace.zoo import classify

    store = Store("seed_task")
    zoo_dir = zoos / "digits-lenet5"
    rows = []
    runs = [(k, k, {"li_weight": 0.0}) for k in kinds]
    if "sne" in kinds:
        runs.append(("sne (canonical unit order)", "sne", CANONICAL))
        # each batch a random hidden-unit permutation of itself: does it stop SNE memorising the 160 networks?
        runs.append(("sne (permutation augmentation)", "sne", {"li_weight": 0.0, "augment": ["permute"]}))
    for label, kind, extra in runs:

        def run(label=label, kind=kind, extra=extra, seed=0):
            try:
                r = train(zoo_dir, kind, "task", f"seed-{label}", scale, seed, task="classes", **extra)
                return {"accuracy": r["test"]["accuracy"], "seconds": r["train_seconds"]}
            except EncodeError as err:
                return {"error": str(err)}

        rs = [store.get(seeded(label, seed), lambda seed=seed, run=run: run(seed=seed), kind) for seed in SEEDS]
        accs = [r.get("accuracy") for r in rs]
        if None in accs:
            rows.append([label, "cannot read (flatten)", ""])
        else:  # each seed too: with 20 test networks a run that did not learn shows as one seed near chance
            rows.append([label, spread(accs), " / ".join(fmt(a, 2) for a in accs)])
    rows.sort(key=lambda r: -mean_of(r[1]) if r[1][0].isdigit() else 0)
    for feats in ("stats", "flat"):
        r = store.get(f"zoo classify {feats}", lambda f=feats: _classify(classify, Zoo.open(zoo_dir), f), None)
        rows.append([f"`zoo classify` ({r['model']} on {feats})", fmt(r["accuracy"]), ""])
    rows.append(["chance", "0.100", ""])
    header = ["method", f"test accuracy (10 classes; encoders over {len(SEEDS)} seeds)", "each seed"]
    return table(rows, header)


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
    # ScaleGMN-B's budget (width 128, 200 epochs) on the dense path: large batches, compiled, bf16; a GPU lease's
    # run (about 20 CPU-hours on the full set), chosen by name with --encoders graph-b
    "graph, ScaleGMN-B budget (width 128, 200 epochs, dense)": (
        "graph",
        {"width": 128, "dim": 128, "depth": 2},
        {"augment": ["sign-flip"], "epochs": 200, "batch_size": 512, "compile": True, "bf16": True},
    ),
}
INR_CHOSEN_AS = {"graph, ScaleGMN-B budget (width 128, 200 epochs, dense)": "graph-b"}  # else: by its kind
GPU_RUNS = ("graph-b",)  # chosen by name only, never in the default set
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
    epochs = max(1, round(fit.get("epochs", INR_EPOCHS[kind]) * scale))
    cfg = EncoderConfig(kind=kind, target="task", task="classes", **(SNE if kind == "sne" else {}), **config)
    dense = {k: fit[k] for k in ("compile", "bf16") if k in fit}
    fit_cfg = FitConfig(epochs=epochs, batch_size=fit.get("batch_size", 64), seed=seed,
                        li_weight=fit.get("li_weight", 0.0), augment=fit.get("augment", []), **dense)  # fmt: skip
    start = time.perf_counter()
    _, report = train_on_zoo(Zoo.open(zoo_dir), cfg, fit_cfg, split_seed=seed, device=DEVICE)
    print(f"  {kind} seed {seed}: {report['test']} ({time.perf_counter() - start:.0f} s)", flush=True)
    keep = ("test", "encoder_parameters", "seconds_per_epoch", "train_networks", "permutation_gap")
    return {k: report[k] for k in keep} | {"epochs": epochs, "config": config, "fit": fit}


def pixel_references(zoo: Zoo) -> dict:
    """Logistic regression on the images themselves and on the INRs drawn back to pixels (same splits): how much of
    the class the fits keep, whatever an encoder can read from the weights."""
    from sklearn.linear_model import LogisticRegression

    from weightspace.zoo import decode_inrs

    originals, drawn = decode_inrs(zoo)
    split, y = zoo.table["split"].to_numpy(), zoo.table["label"].to_numpy()
    train, test = split == "train", split == "test"
    accuracy = {}
    for name, x in (("the original pixels", originals), ("the INRs' reconstructions", drawn.clamp(0, 1))):
        x = x.reshape(len(x), -1).numpy()
        model = LogisticRegression(max_iter=300).fit(x[train], y[train])
        accuracy[f"logistic regression on {name}"] = float(model.score(x[test], y[test]))
    return {"accuracy": accuracy}


def inr_settings(label: str | None) -> dict:
    """What decides one INR-classification entry (one run of INR_RUNS, one seed): reused only when these are equal."""
    if label is None:  # the pixel references
        return {}
    kind = INR_RUNS[label][0]
    fixed = {"epochs_scale": SCALE, "epochs": INR_EPOCHS[kind], "run": INR_RUNS[label]}
    fixed |= {"sne": SNE} if kind == "sne" else {}
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
        if INR_CHOSEN_AS.get(label, kind) not in kinds:
            continue
        runs = [
            store.get(
                f"{label} seed {s}", lambda k=kind, c=config, f=fit, s=s: train_inr(zoo_dir, k, c, f, s, scale), label
            )
            for s in SEEDS
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
        pixels = store.get("pixels", lambda: pixel_references(zoo), None)
        rows += [[f"*reference: {name}*", f"{100 * acc:.2f}", "", "", ""] for name, acc in pixels["accuracy"].items()]
    fit_psnr = zoo.table["psnr"]
    note = (
        f"{len(zoo):,} regenerated INRs ({', '.join(f'{k} {v}' for k, v in zoo.table['split'].value_counts().items())}"
        f"; fit PSNR mean {fit_psnr.mean():.1f} dB), {len(SEEDS)} seeds (init and batch order; the split is the "
        "dataset's own), mean ± std test accuracy (%)"
    )
    where = "2 cores" if DEVICE == "cpu" else torch.cuda.get_device_name(torch.device(DEVICE))
    header = ["encoder", "test accuracy %", "encoder params", f"s/epoch ({where})", "epochs"]
    return note + "\n\n" + table(rows, header)


# -- 6. wild populations: accuracy prediction on a CNN Wild Park-style zoo, and transfer to graph zoos -----------
WILD_EPOCHS = {"sne": 8, "deepsets": 8, "statnn": 8, "graph": 8, "probe": 8}
WILD_RUNS = {  # label -> (kind, encoder config); every run without logit invariance (a 2-core budget)
    "sne": ("sne", {**SNE}),
    "sne (canonical unit order)": ("sne", {**SNE, "canonical": True}),
    "deepsets": ("deepsets", {}),
    "statnn": ("statnn", {}),
    "graph": ("graph", {}),
    "probe": ("probe", {}),
    "probe (deep-linear generator)": ("probe", {"probe_generator": "deep-linear"}),
}
WILD_PUBLISHED = {"NG-T (Kofinas et al. 2024, CNN Wild Park)": 0.817, "DNG (Kofinas et al. 2024)": 0.874}


def wild_settings(label: str | None) -> dict:
    kind, config = WILD_RUNS[label]
    return json.loads(json.dumps({"epochs_scale": SCALE, "epochs": WILD_EPOCHS[kind], "config": config}))


def inference_rate(model: Predictor, parts: list, networks: int = 240) -> float:
    """Networks per second the trained encoder embeds (the first `networks` of `parts`, after one warm-up call)."""
    from weightspace.encode import outputs

    chosen, total = [], 0
    for p in parts:
        if total >= networks:
            break
        chosen.append(p)
        total += len(p)
    outputs(model, chosen[:1], fn=lambda m, b: m.embed(b))
    start = time.perf_counter()
    outputs(model, chosen, fn=lambda m, b: m.embed(b))
    return total / (time.perf_counter() - start)


def train_wild(zoo: Zoo, kind: str, config: dict, seed: int, scale: float) -> dict:
    """One encoder trained to predict test accuracy on the wild zoo's final checkpoints; its test tau and costs."""
    from weightspace.recipes import split_rows

    epochs = max(1, round(WILD_EPOCHS[kind] * scale))
    cfg = EncoderConfig(kind=kind, target="test_accuracy", **config)
    fit = FitConfig(epochs=epochs, batch_size=32, seed=seed, li_weight=0.0)
    try:
        model, report = train_on_zoo(zoo, cfg, fit, split_seed=seed, device=DEVICE)
    except EncodeError as err:
        return {"error": str(err)}
    test = read_parts(zoo, "test_accuracy", split_rows(zoo, "test", seed))
    rate = inference_rate(model, test)
    print(f"  {kind} seed {seed}: {report['test']} ({report['seconds_per_epoch']:.1f} s/epoch, {rate:.0f} net/s)",
          flush=True)  # fmt: skip
    keep = ("test", "encoder_parameters", "seconds_per_epoch", "train_networks", "permutation_gap")
    return {k: report[k] for k in keep} | {"epochs": epochs, "inference_networks_per_s": rate}


def bench_wild(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL) -> str:
    store = Store("wild", wild_settings)
    zoo = Zoo.open(zoos / "digits-wild")
    zoo = zoo.filter(epoch=int(zoo.table["epoch"].max()))
    rows = []
    for label, (kind, config) in WILD_RUNS.items():
        if kind not in kinds:
            continue
        runs = [store.get(seeded(label, s), lambda k=kind, c=config, s=s: train_wild(zoo, k, c, s, scale), label)
                for s in SEEDS]  # fmt: skip
        if any("error" in r for r in runs):
            rows.append([label, "cannot read", "", "", "", ""])
            continue
        taus = [r["test"]["tau"] for r in runs]
        rows.append([label, spread(taus), " / ".join(fmt(t) for t in taus),
                     f"{sum(r['seconds_per_epoch'] for r in runs) / len(runs):.1f}",
                     f"{sum(r['inference_networks_per_s'] for r in runs) / len(runs):.0f}",
                     f"{runs[0]['encoder_parameters']:,}"])  # fmt: skip
    rows.sort(key=lambda r: -mean_of(r[1]) if r[1][0].isdigit() else 1)
    rows += [[f"*{name}, published*", f"{tau:.3f}", "", "", "", ""] for name, tau in WILD_PUBLISHED.items()]
    n = zoo.table["model_id"].nunique()
    note = (f"{n:,} networks, each its own drawn CNN (digits-wild), final checkpoints; test-accuracy prediction, "
            f"Kendall tau on the held-out networks, mean ± std over {len(SEEDS)} seeds (split, init, batch order); "
            "costs on 2 cores")  # fmt: skip
    header = ["encoder", "test tau", "each seed", "train s/epoch", "inference networks/s", "encoder params"]
    return note + "\n\n" + table(rows, header)


TRANSFER = ("digits-resnet", "digits-vit")


def bench_transfer(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL) -> str:
    """SNE's cross-architecture setting: trained on a chain-CNN zoo, evaluated untrained on graph zoos."""
    store = Store("transfer", wild_settings)
    rows = []
    for label in ("sne", "deepsets", "graph", "probe"):
        kind, config = WILD_RUNS[label]
        if kind not in kinds:
            continue
        cells: dict[str, list] = {"digits-smallcnn": [], **{dst: [] for dst in TRANSFER}}
        for seed in SEEDS:

            def run(config=config, kind=kind, seed=seed, label=label):
                epochs = max(1, round(WILD_EPOCHS[kind] * scale))
                cfg = EncoderConfig(kind=kind, target="test_accuracy", **config)
                fit = FitConfig(epochs=epochs, batch_size=32, seed=seed, li_weight=0.0)
                model, report = train_on_zoo(Zoo.open(zoos / "digits-smallcnn"), cfg, fit, split_seed=seed)
                out = {"digits-smallcnn": report["test"]}
                for dst in TRANSFER:
                    try:
                        out[dst] = evaluate_on_zoo(model, Zoo.open(zoos / dst), "all")[0]
                    except EncodeError as err:
                        out[dst] = {"error": str(err)}
                print(f"  {label} seed {seed}: {json.dumps({k: v.get('tau') for k, v in out.items()})}", flush=True)
                return out

            r = store.get(seeded(label, seed), run, label)
            for dst in cells:
                cells[dst].append(r[dst].get("tau"))
        rows.append([label, *(spread(t) if None not in t else "cannot read" for t in cells.values())])
    rows.sort(key=lambda r: -sum(mean_of(c) for c in r[2:] if c[0].isdigit() or c[0] == "-"))
    header = ["encoder (trained on small CNNs, digits)", "tau on small CNNs (test)", "tau on resnet (untrained)",
              "tau on vit-tiny (untrained)"]  # fmt: skip
    return f"Kendall tau of test-accuracy predictions, mean ± std over {len(SEEDS)} seeds\n\n" + table(rows, header)


# -- summary: SNE against the best baseline of each benchmark ---------------------------------------------------
def bench_summary(zoos: Path, scale: float, kinds: tuple[str, ...] = ALL) -> str:
    """Per benchmark, each encoder's score from the stored results; SNE's ratio to the best baseline (> 1: better)."""
    acc, cross = Store("accuracy").read(), Store("cross_arch").read()
    inr, seed = Store("inr").read(), Store("seed_task").read()

    def per_seed(store: dict, key: str, value) -> list[float]:
        """One score per stored seed: the entry `key`, or the mean over every cell of a table whose keys start so."""
        scores = []
        for s in SEEDS:
            if key.endswith(":"):
                cells = [value(v) for k, v in store.items() if k.startswith(key) and seed_of(k) == s and "tau" in v]
            else:
                cells = [value(store[seeded(key, s)])] if seeded(key, s) in store else []
            if cells := [c for c in cells if c is not None]:
                scores.append(sum(cells) / len(cells))
        return scores

    scores = {  # benchmark -> (higher is better, {encoder: one score per seed})
        "sine-INR frequency (test MSE)": (False, {k: per_seed(inr, k, lambda e: e["test"]["mse"]) for k in ALL}),
        "accuracy prediction (mean tau, 3x3 dataset pairs)": (
            True,
            {k: per_seed(acc, f"{k}:", lambda e: e["tau"]) for k in ALL},
        ),
        "cross-architecture (mean tau, 2 unseen architectures)": (
            True,
            {k: per_seed(cross, f"{k}:", lambda e: e["tau"]) for k in ALL},
        ),
        "seed task (test accuracy)": (True, {k: per_seed(seed, k, lambda e: e.get("accuracy")) for k in ALL}),
    }
    rows, ratios = [], []
    for name, (higher, by_kind) in scores.items():
        means = {k: sum(v) / len(v) for k, v in by_kind.items() if v}
        base = {k: m for k, m in means.items() if k != "sne"}
        if not base or "sne" not in means:  # that benchmark has not stored a result yet
            rows.append([name, "not run", "not run", "n/a", "0"])
            ratios.append(None)
            continue
        best = (max if higher else min)(base, key=base.get)
        ratio = means["sne"] / base[best] if higher else base[best] / means["sne"]
        ratios.append(ratio)
        sne, other = spread(by_kind["sne"]), f"{best} {spread(by_kind[best])}"
        rows.append([name, sne, other, fmt(ratio, 2), len(by_kind["sne"])])
    if None not in ratios:
        rows.append(["**mean ratio**", "", "", f"**{sum(ratios) / len(ratios):.2f}**", ""])
    header = ["benchmark", "SNE", "best baseline", "SNE vs best (> 1: SNE better)", "seeds"]
    note = "mean ± std over the seeds stored (each seed's score first averaged over its table)"
    return note + "\n\n" + table(rows, header)


BENCHES = {
    "inr": bench_inr,
    "accuracy": bench_accuracy,
    "cross-arch": bench_cross_arch,
    "seed-task": bench_seed_task,
    "speed": bench_speed,
    "inr-classify": bench_inr_classify,
    "inr-classify-mnist": lambda zoos, scale, kinds: bench_inr_classify(zoos, scale, kinds, "mnist5k-inrs"),
    "inr-classify-full": lambda zoos, scale, kinds: bench_inr_classify(zoos, scale, kinds, "fashion-inrs-full"),
    "wild": bench_wild,
    "transfer": bench_transfer,
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
    parser.add_argument("--seeds", help="comma-separated seeds (default 0,1,2); seed 0 is the single-seed tables'")
    parser.add_argument("--no-pixels", action="store_true", help="INR classification: no pixel references")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default %(default)s)")
    args = parser.parse_args()
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, not {args.threads}")
    torch.set_num_threads(args.threads)  # deliberate: idle OpenMP threads spinning against other load skew timings
    DEVICE, PIXELS = args.device, not args.no_pixels
    if args.seeds:
        SEEDS = tuple(int(s) for s in args.seeds.split(","))
    RESULTS = PUBLISHED if args.publish else args.out
    SCALE = args.epochs_scale
    kinds = tuple(args.encoders.split(","))
    if unknown := set(kinds) - set(ALL) - set(GPU_RUNS):
        parser.error(f"unknown encoders {sorted(unknown)}; choose from {', '.join(ALL + GPU_RUNS)}")
    for name in BENCHES if args.bench == "all" else [args.bench]:
        budget = WILD_EPOCHS if name in ("wild", "transfer") else EPOCHS
        budget = INR_EPOCHS if name.startswith("inr-classify") else budget
        print(f"## {name}  (SNE {SNE}; epochs {budget} x {args.epochs_scale})", flush=True)
        result = BENCHES[name](args.zoos, args.epochs_scale, kinds)
        write_text_atomic(RESULTS / f"encode_{name.replace('-', '_')}.md", result + "\n")
        print(result, flush=True)
