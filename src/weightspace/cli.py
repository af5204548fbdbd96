"""The `weightspace` command. Each sub-command only wires library calls together."""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from weightspace.errors import WeightspaceError

app = typer.Typer(
    help="weightspace: trained neural networks as data (zoos, encoders, hypernetworks, Net2Net, SWAT-NN).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
nets_app = typer.Typer(help="Architectures and single networks.", no_args_is_help=True)
app.add_typer(nets_app, name="nets")
zoo_app = typer.Typer(help="Model zoos: generate, inspect, verify, classify.", no_args_is_help=True)
app.add_typer(zoo_app, name="zoo")
grow_app = typer.Typer(help="Net2Net: grow a trained network wider or deeper, same function.", no_args_is_help=True)
app.add_typer(grow_app, name="grow")
encode_app = typer.Typer(
    help="Encode networks from their weights (SNE and baselines); predict properties.", no_args_is_help=True
)
app.add_typer(encode_app, name="encode")
hyper_app = typer.Typer(help="Hypernetworks: static (CNN kernels), HyperLSTM, zoo generators.", no_args_is_help=True)
app.add_typer(hyper_app, name="hyper")
hyper_train_app = typer.Typer(help="Train a hypernetwork experiment (resumable).", no_args_is_help=True)
hyper_app.add_typer(hyper_train_app, name="train")
swat_app = typer.Typer(help="SWAT-NN: a latent space of MLP architectures + weights, searched.", no_args_is_help=True)
app.add_typer(swat_app, name="swat")
console = Console()


@app.command()
def info() -> None:
    """Versions, compute device, and which datasets were found on this machine (and where)."""
    import numpy
    import torch

    import weightspace
    from weightspace.data import IMAGE_DATASETS, locate

    table = Table(title="weightspace", show_header=False)
    table.add_row("weightspace", weightspace.__version__)
    table.add_row("python", platform.python_version())
    table.add_row("torch", torch.__version__)
    table.add_row("numpy", numpy.__version__)
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"
    table.add_row("device", f"cpu ({torch.get_num_threads()} threads); cuda: {cuda}")
    console.print(table)

    data = Table(title="datasets")
    for col in ("name", "status", "where / how to get it"):
        data.add_column(col)
    for name, desc in IMAGE_DATASETS.items():
        try:
            data.add_row(name, "[green]found", locate(name))
        except WeightspaceError as err:
            data.add_row(name, "[red]missing", f"{desc}\n{str(err).splitlines()[-1]}")
    data.add_row("text", "[green]found", "standard library docs (pydoc_data.topics); or any UTF-8 file")
    console.print(data)


@nets_app.command("presets")
def nets_presets() -> None:
    """List the preset architectures with their parameter counts."""
    from weightspace.nets import PRESETS

    table = Table(title="presets")
    for col in ("name", "input", "output", "parameters", "about"):
        table.add_column(col)
    for name, make in PRESETS.items():
        spec = make()
        about = (make.__doc__ or "").strip().splitlines()[0] if make.__doc__ else "mlp(input, widths, outputs)"
        table.add_row(name, str(list(spec.input_shape)), str(list(spec.output_shape)), f"{spec.num_params():,}", about)
    console.print(table)


@nets_app.command("show")
def nets_show(
    name: str = typer.Argument(..., help="a preset name, a spec .json file, or a saved network .safetensors"),
    as_json: bool = typer.Option(False, "--json", help="print the ArchSpec as JSON"),
) -> None:
    """Show an architecture layer by layer (or as JSON)."""
    from weightspace.nets import ArchSpec, Net, preset

    path = Path(name)
    if path.suffix == ".safetensors":
        spec = Net.load(path).spec
    elif path.suffix == ".json":
        spec = ArchSpec.from_json(path.read_text())
    else:
        spec = preset(name)
    if as_json:
        console.print_json(spec.to_json())
        return
    table = Table(title=f"{spec.name or 'network'}: input {list(spec.input_shape)}, {spec.num_params():,} parameters")
    for col in ("#", "layer", "output", "parameters"):
        table.add_column(col)
    for i, desc, shape, count in spec.describe():
        table.add_row(str(i), desc, str(list(shape)), f"{count:,}" if count else "")
    console.print(table)


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), help="where the demo zoo is written"),
    per_task: int = typer.Option(10, help="networks per digit class (10 classes)"),
    epochs: int = typer.Option(6, help="epochs per network"),
    workers: int = typer.Option(2, help="local worker processes"),
) -> None:
    """Generate the digits LeNet-5 one-vs-rest zoo, summarise it, and predict each network's class from weights."""
    from weightspace.zoo import generate, zoo_preset
    from weightspace.zoo.classify import classify

    config = zoo_preset("digits-lenet5", per_task=per_task)
    config = config.model_copy(update={"recipe": config.recipe.model_copy(update={"epochs": epochs})})
    console.rule(f"generating {config.name}: {10 * per_task} one-vs-rest LeNet-5 detectors")
    start = time.perf_counter()
    zoo = generate(config, out / "zoo", workers=workers, resume=True, console=console)
    console.print(f"{len(zoo)} networks in {time.perf_counter() - start:.0f} s -> {out / 'zoo'}")
    console.print(_metric_table(zoo))
    console.rule("which digit does each network detect? (from its weights alone)")
    _print_classify(classify(zoo), "task", out / "classify.png")


@zoo_app.command("generate")
def zoo_generate(
    out: Path = typer.Option(..., "--out", help="directory the zoo is written to"),
    preset_name: str = typer.Option(None, "--preset", help="a zoo preset (see `weightspace zoo presets`)"),
    config: Path = typer.Option(None, "--config", help="a YAML zoo config instead of a preset"),
    data: str = typer.Option(None, "--data", help="dataset folder (ImageNette, Fashion-MNIST files)"),
    per_task: int = typer.Option(None, help="networks per task"),
    epochs: int = typer.Option(None, help="training epochs per network"),
    shard_size: int = typer.Option(None, help="networks per shard (trained together by the batched engine)"),
    seed: int = typer.Option(None, help="base seed; every network's seeds derive from it"),
    workers: int = typer.Option(1, help="local worker processes"),
    dask: str = typer.Option(None, help="Dask scheduler address, e.g. tcp://host:8786"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
    resume: bool = typer.Option(False, help="complete a zoo that was interrupted"),
    fast_gpu: bool = typer.Option(False, help="GPU only: TF32 and atomic kernels, ~5x faster, not bit-reproducible"),
) -> None:
    """Generate a zoo: seeded, batched, resumable, on one process, a local pool or a Dask cluster."""
    from weightspace.zoo import ZooConfig, generate, zoo_preset

    if (preset_name is None) == (config is None):
        raise WeightspaceError("give exactly one of --preset NAME or --config FILE")
    cfg = zoo_preset(preset_name) if preset_name else ZooConfig.from_yaml(config)
    changes = {"data_root": data, "per_task": per_task, "shard_size": shard_size, "seed": seed}
    changes = {k: v for k, v in changes.items() if v is not None}
    if epochs is not None:
        changes["recipe"] = cfg.recipe.model_copy(update={"epochs": epochs})
        changes["checkpoints"] = [e for e in (cfg.checkpoints or []) if e <= epochs] or None
    cfg = ZooConfig.model_validate(cfg.model_dump() | changes).check()
    zoo = generate(
        cfg, out, workers=workers, dask=dask, device=device, resume=resume, console=console, deterministic=not fast_gpu
    )
    console.print(f"{zoo}: {zoo.table['model_id'].nunique()} networks; verify with `weightspace zoo verify {out}`")


@zoo_app.command("presets")
def zoo_presets() -> None:
    """List the zoo presets."""
    from weightspace.zoo import PRESETS

    table = Table(title="zoo presets")
    for col in ("name", "dataset", "architecture", "tasks", "networks", "epochs"):
        table.add_column(col)
    for name, cfg in PRESETS.items():
        n_tasks = 1 if cfg.tasks == "multiclass" else len(cfg.classes or range(10))
        varied = " (varied hyperparameters)" if cfg.varied else ""
        table.add_row(
            name,
            cfg.dataset,
            cfg.arch.preset,
            cfg.tasks + varied,
            f"{n_tasks * cfg.per_task:,}",
            str(cfg.recipe.epochs),
        )
    console.print(table)


def _metric_table(zoo) -> Table:
    metrics = [
        m for m in ("test_accuracy", "test_precision", "test_recall", "test_f1", "test_auc") if m in zoo.table.columns
    ]
    last = zoo.filter(epoch=int(zoo.table["epoch"].max()))
    grouped = last.table.groupby("task", sort=False)[metrics].mean()
    table = Table(title=f"mean test metrics per task (epoch {int(zoo.table['epoch'].max())})")
    table.add_column("task")
    table.add_column("networks", justify="right")
    for m in metrics:
        table.add_column(m.removeprefix("test_"), justify="right")
    counts = last.table.groupby("task", sort=False).size()
    for task, row in grouped.iterrows():
        table.add_row(str(task), str(counts[task]), *(f"{row[m]:.3f}" for m in metrics))
    table.add_row("all", str(len(last)), *(f"{last.table[m].mean():.3f}" for m in metrics), style="bold")
    return table


@zoo_app.command("info")
def zoo_info(
    root: Path = typer.Argument(..., help="zoo directory"),
    plot: Path = typer.Option(None, help="where to save the histogram of test metrics (default ROOT/metrics.png)"),
) -> None:
    """Counts, a per-task metric table and a histogram plot of test metrics."""
    from weightspace.report.plots import metric_histograms
    from weightspace.zoo import Zoo

    zoo = Zoo.open(root)
    t = zoo.table
    console.print(
        f"{zoo.manifest['name']}: {t['model_id'].nunique()} networks, {len(t)} rows, "
        f"{len(zoo.manifest['shards'])} shards, checkpoints at epochs {sorted(t['epoch'].unique().tolist())}; "
        f"{zoo.specs[0].name} with {zoo.specs[0].num_params():,} parameters"
    )
    console.print(_metric_table(zoo))
    path = metric_histograms(zoo.table, plot or Path(root) / "metrics.png", title=zoo.manifest["name"])
    console.print(f"histograms: {path}")


@zoo_app.command("verify")
def zoo_verify(root: Path = typer.Argument(..., help="zoo directory")) -> None:
    """Check every shard hash and every row; list what is missing or corrupt (exit 1 if anything is)."""
    from weightspace.zoo import verify

    problems = verify(root)
    if problems:
        for p in problems:
            console.print(f"[red]x[/red] {p}", highlight=False)
        raise typer.Exit(1)
    console.print(f"[green]ok[/green] {root}: every shard hash and row checks out")


@zoo_app.command("classify")
def zoo_classify(
    root: Path = typer.Argument(..., help="zoo directory"),
    target: str = typer.Option("task", help="the column to predict from the weights"),
    seed: int = typer.Option(0),
    plot: Path = typer.Option(None, help="confusion-matrix plot (default ROOT/classify.png)"),
) -> None:
    """Predict which task each network solves from its weights (the seed dataset's experiment)."""
    from weightspace.zoo import Zoo
    from weightspace.zoo.classify import classify

    result = classify(Zoo.open(root), target=target, seed=seed)
    _print_classify(result, target, plot or Path(root) / "classify.png")


@zoo_app.command("sine-inr")
def zoo_sine_inr(
    out: Path = typer.Option(..., "--out", help="directory the zoo is written to"),
    networks: int = typer.Option(1000, help="how many SIRENs"),
    steps: int = typer.Option(800, help="Adam steps per SIREN (all train at once)"),
    seed: int = typer.Option(0),
) -> None:
    """The SNE paper's INR zoo: SIREN 1-32-32-1 fit to sin(a x), a ~ U(0.5, 10); target column `frequency`."""
    from weightspace.zoo.inr import make_sine_inr_zoo

    zoo = make_sine_inr_zoo(out, networks=networks, seed=seed, steps=steps)
    console.print(f"{zoo}; mean fit MSE {zoo.table['fit_mse'].mean():.2e}")


@zoo_app.command("import")
def zoo_import(
    fmt: str = typer.Argument(..., help="keras-h5 | small-cnn | safetensors-dir"),
    source: Path = typer.Argument(..., help="folder of .h5 files, a small-CNN zoo folder, or a folder of .safetensors"),
    out: Path = typer.Option(..., "--out", help="the new zoo directory"),
    arch: str = typer.Option(None, help="architecture preset when the files do not carry one (keras-h5: lenet5-seed)"),
) -> None:
    """Bring an existing zoo into weightspace's format (no pickle is ever loaded)."""
    from weightspace.nets import preset

    spec = preset(arch) if arch else None
    if fmt == "keras-h5":
        from weightspace.zoo.formats.keras_h5 import import_keras_h5

        zoo = import_keras_h5(sorted(source.rglob("*.h5")), out, spec)
    elif fmt == "small-cnn":
        from weightspace.zoo.formats.smallcnn import import_smallcnn

        zoo = import_smallcnn(source, out, spec)
    elif fmt == "safetensors-dir":
        from weightspace.zoo.formats.statedicts import import_statedicts

        zoo = import_statedicts(source, out, spec)
    else:
        raise WeightspaceError(f"unknown format {fmt!r}; choose keras-h5, small-cnn or safetensors-dir")
    console.print(f"imported {len(zoo)} networks into {out}")


@zoo_app.command("export")
def zoo_export(
    fmt: str = typer.Argument(..., help="small-cnn | safetensors-dir"),
    root: Path = typer.Argument(..., help="zoo directory"),
    out: Path = typer.Option(..., "--out", help="where the export is written"),
) -> None:
    """Write a zoo in another layout."""
    from weightspace.zoo import Zoo

    zoo = Zoo.open(root)
    if fmt == "small-cnn":
        from weightspace.zoo.formats.smallcnn import export_smallcnn

        export_smallcnn(zoo, out)
    elif fmt == "safetensors-dir":
        from weightspace.zoo.formats.statedicts import export_statedicts

        export_statedicts(zoo, out)
    else:
        raise WeightspaceError(f"unknown format {fmt!r}; choose small-cnn or safetensors-dir")
    console.print(f"exported {len(zoo)} rows to {out}")


def _print_classify(result, target: str, plot: Path) -> None:
    from weightspace.zoo.classify import CLASSIFIERS, FEATURES, plot_confusion

    table = Table(
        title=f"which {target}? test accuracy from weights ({result.n_train} train / "
        f"{result.n_test} test networks; chance {result.chance:.3f})"
    )
    table.add_column("features")
    for clf in CLASSIFIERS:
        table.add_column(clf, justify="right")
    for feats in FEATURES:
        table.add_row(feats, *(f"{result.scores[feats, clf]:.3f}" for clf in CLASSIFIERS))
    console.print(table)
    recall = ", ".join(f"{k}: {v:.2f}" for k, v in result.recall.items())
    console.print(f"best: {' + '.join(result.best)}; per-class recall: {recall}")
    console.print(f"confusion matrix: {plot_confusion(result, plot)}")


def _load_net(source: Path, model: int | None):
    """A saved Net (.safetensors) or, for a zoo directory, its row `model` (default 0)."""
    from weightspace.nets import Net

    if (source / "zoo.json").is_file():
        from weightspace.zoo import Zoo

        zoo = Zoo.open(source)
        row = model or 0
        if not 0 <= row < len(zoo):
            raise WeightspaceError(f"--model {row}: the zoo has rows 0..{len(zoo) - 1}")
        return zoo.net(row)
    if source.is_file():
        return Net.load(source)
    raise WeightspaceError(f"{source} is neither a network file (.safetensors) nor a zoo directory")


def _report_growth(net, grown, out: Path) -> None:
    from weightspace.grow import output_gap
    from weightspace.grow.common import probe_inputs

    grown.save(out)
    gap = output_gap(net, grown, probe_inputs(net.spec))
    console.print(f"{net.num_params():,} -> {grown.num_params():,} parameters; relative output change {gap:.2e}")
    console.print(grown.spec.describe())
    console.print(f"saved {out}")


@grow_app.command("wider")
def grow_wider(
    source: Path = typer.Argument(..., help="a network .safetensors file or a zoo directory"),
    layer: int = typer.Option(..., help="index of the hidden linear/conv layer to widen (see `nets show`)"),
    width: int = typer.Option(..., help="its new number of units or channels"),
    out: Path = typer.Option(..., "--out", help="where the grown network is saved (.safetensors)"),
    model: int = typer.Option(None, help="row of the zoo table, when SOURCE is a zoo"),
    noise: float = typer.Option(0.0, help="symmetry-breaking noise, as a fraction of the weights' std"),
    seed: int = typer.Option(0, help="seed of the replication mapping and the noise"),
) -> None:
    """Net2WiderNet: more units in one layer, the same function."""
    from weightspace.grow import wider

    net = _load_net(source, model)
    _report_growth(net, wider(net, layer, width, noise=noise, seed=seed), out)


@grow_app.command("deeper")
def grow_deeper(
    source: Path = typer.Argument(..., help="a network .safetensors file or a zoo directory"),
    after: int = typer.Option(..., help="index of the linear/conv layer after which the new layer goes"),
    out: Path = typer.Option(..., "--out", help="where the grown network is saved (.safetensors)"),
    model: int = typer.Option(None, help="row of the zoo table, when SOURCE is a zoo"),
    kernel_size: int = typer.Option(3, help="kernel of an inserted conv layer (odd)"),
    approximate: bool = typer.Option(False, help="allow activations that make the identity inexact (tanh, ...)"),
) -> None:
    """Net2DeeperNet: an identity-initialised layer, the same function (ReLU) or close to it (--approximate)."""
    import warnings

    from weightspace.grow import deeper

    net = _load_net(source, model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the gap is printed below
        grown = deeper(net, after=after, kernel_size=kernel_size, approximate=approximate)
    _report_growth(net, grown, out)


@grow_app.command("experiment")
def grow_experiment(
    out: Path = typer.Option(Path("runs/net2net"), "--out", help="results.json and net2net.png go here"),
    dataset: str = typer.Option("fashion-mnist", help="an image dataset name"),
    train_size: int = typer.Option(20_000, help="training images (a seeded subset; all: 60000)"),
    teacher_epochs: int = typer.Option(3),
    student_epochs: int = typer.Option(5),
    student_lr: float = typer.Option(3e-4, help="Adam learning rate of every student (teacher: 1e-3)"),
    seed: int = typer.Option(0),
) -> None:
    """Net2Net vs random init vs random pad, for a 2x wider and a deeper student of a small teacher CNN."""
    from weightspace.grow.experiment import results_table, run_experiment

    results = run_experiment(
        out, dataset=dataset, train_size=train_size, teacher_epochs=teacher_epochs, student_epochs=student_epochs,
        student_lr=student_lr, seed=seed, log=console.print,
    )  # fmt: skip
    console.print(results_table(results))
    console.print(f"plot: {out / 'net2net.png'}")


@encode_app.command("train")
def encode_train(
    zoo_dir: Path = typer.Option(..., "--zoo", help="zoo directory to train on (its train/val split)"),
    target: str = typer.Option("test_accuracy", help="the zoo column to predict"),
    encoder: str = typer.Option("sne", help="sne | mlp | statnn | deepsets | nfn-np | nfn-hnp"),
    out: Path = typer.Option(None, help="where the encoder is saved (default ZOO/encoders/ENCODER-TARGET)"),
    task: str = typer.Option(None, help="regression | probability | classes (default: from the column)"),
    epochs: int = typer.Option(30),
    batch_size: int = typer.Option(32),
    lr: float = typer.Option(1e-3),
    li_weight: float = typer.Option(1.0, help="logit-invariance weight (0: off)"),
    positional: bool = typer.Option(True, help="SNE's type/level encodings"),
    canonical: bool = typer.Option(False, help="SNE sorts hidden units first: exactly permutation invariant"),
    width: int = typer.Option(32, help="set-function width"),
    depth: int = typer.Option(2, help="SABs per set-to-set"),
    dim: int = typer.Option(32, help="embedding size"),
    seed: int = typer.Option(0),
    device: str = typer.Option("cpu"),
) -> None:
    """Train an encoder + predictor head on a zoo; save it; print test metrics and a predicted-vs-true plot."""
    import json

    import numpy as np
    from rich.progress import Progress

    from weightspace.encode import EncoderConfig, FitConfig, plot_predictions, train_on_zoo
    from weightspace.zoo import Zoo

    zoo = Zoo.open(zoo_dir)
    config = EncoderConfig(
        kind=encoder, target=target, positional=positional, canonical=canonical, width=width, depth=depth, dim=dim
    )
    fit_config = FitConfig(epochs=epochs, batch_size=batch_size, lr=lr, li_weight=li_weight, seed=seed, device=device)
    with Progress(console=console, transient=True) as bar:
        job = bar.add_task(f"training {encoder}", total=epochs)

        def on_epoch(epoch, train_loss, val_loss):
            bar.update(job, completed=epoch, description=f"{encoder} loss {train_loss:.4f} val {val_loss:.4f}")

        model, report = train_on_zoo(zoo, config, fit_config, task=task, split_seed=seed, on_epoch=on_epoch)
    out = out or zoo.root / "encoders" / f"{encoder}-{target}"
    path = model.save(out)
    _write_json(path.with_name(path.stem + ".report.json"), report)
    pred, true = (np.asarray(report["test_predictions"][k]) for k in ("predicted", "true"))
    plot = plot_predictions(pred, true, model.config.task, path.with_suffix(".png"), f"{encoder} on {zoo.root.name}")
    shown = {k: round(v, 4) for k, v in report["test"].items()}
    console.print(
        f"{encoder}: test {json.dumps(shown)}; symmetry gap {report['permutation_gap']:.1e}; "
        f"{report['seconds_per_epoch']:.1f} s/epoch"
    )
    console.print(f"saved {path} (+ .json config); plot {plot}")


@encode_app.command("eval")
def encode_eval(
    encoder_path: Path = typer.Argument(..., help="a saved encoder (.safetensors; its .json beside it)"),
    zoo_dir: Path = typer.Option(..., "--zoo", help="zoo to evaluate on (any dataset or architecture)"),
    split: str = typer.Option("test", help="test | val | train | all"),
    seed: int = typer.Option(0, help="split seed (the one used in training)"),
    plot: Path = typer.Option(None, help="predicted-vs-true plot (default next to the encoder)"),
) -> None:
    """Evaluate a trained encoder on a zoo without retraining (cross-dataset, cross-architecture)."""
    from weightspace.encode import Predictor, evaluate_on_zoo, plot_predictions
    from weightspace.zoo import Zoo

    model, zoo = Predictor.load(encoder_path), Zoo.open(zoo_dir)
    scores, pred, true = evaluate_on_zoo(model, zoo, split, seed)
    plot = plot or Path(encoder_path).with_name(f"{Path(encoder_path).stem}-on-{zoo.root.name}.png")
    plot_predictions(pred, true, model.config.task, plot, f"{model.config.kind} on {zoo.root.name}")
    console.print(" ".join(f"{k} {v:.4f}" for k, v in scores.items()) + f" ({len(true)} rows); plot {plot}")


@encode_app.command("embed")
def encode_embed(
    encoder_path: Path = typer.Argument(..., help="a saved encoder"),
    zoo_dir: Path = typer.Option(..., "--zoo", help="zoo whose networks are embedded"),
    name: str = typer.Option(None, help="file name under ZOO/embeddings (default: the encoder's)"),
) -> None:
    """One embedding per network, written next to the zoo, and a 2-D projection coloured by the target."""
    from safetensors.torch import load_file

    from weightspace.encode import Predictor, embed_zoo, plot_embedding
    from weightspace.zoo import Zoo

    model, zoo = Predictor.load(encoder_path), Zoo.open(zoo_dir)
    path = embed_zoo(model, zoo, name or Path(encoder_path).stem)
    emb = load_file(path)["embedding"]
    target = model.config.target
    colour = zoo.table[target].to_numpy() if target in zoo.table.columns else None
    if colour is not None:
        plot = plot_embedding(emb, colour, path.with_suffix(".png"), f"{model.config.kind} embeddings by {target}")
        console.print(f"plot {plot}")
    console.print(f"wrote {tuple(emb.shape)} embeddings to {path}")


@hyper_train_app.command("static")
def hyper_train_static(
    dataset: str = typer.Option("mnist5k", help="mnist5k | fashion-mnist | digits"),
    epochs: int = typer.Option(10),
    z_dim: int = typer.Option(4, help="N_z = d of the kernel generator"),
    seed: int = typer.Option(0),
    out: Path = typer.Option(Path("runs/hyper-static"), help="checkpoints and results.json (rerun to resume)"),
) -> None:
    """Ha et al.'s MNIST experiment: one CNN with ordinary weights vs its second conv kernel generated."""
    from rich.progress import Progress

    from weightspace.hyper.static import run_static

    out = out / dataset
    with Progress(console=console, transient=True) as bar:
        job = bar.add_task("training", total=2 * epochs)

        def on_epoch(label, row):
            bar.advance(job)
            bar.update(job, description=f"{label} epoch {row['epoch']} test acc {row['test_accuracy']:.4f}")

        rows = run_static(dataset, epochs, seed, z_dim, str(out), on_epoch)
    _write_json(out / "results.json", rows)
    table = Table("model", "parameters", "conv2 parameters", "test error", title=f"static hypernetwork, {dataset}")
    for r in rows:
        error = f"{100 * r['test_error']:.2f} %"
        table.add_row(r["model"], f"{r['parameters']:,}", f"{r['conv2_parameters']:,}", error)
    console.print(table)
    console.print(f"wrote {out / 'results.json'}")


@hyper_train_app.command("lstm")
def hyper_train_lstm(
    kind: str = typer.Option("hyper-lstm", help="hyper-lstm | ln-lstm | lstm"),
    text: Path = typer.Option(None, help="UTF-8 text file (default: the Python docs shipped with the stdlib)"),
    hidden: int = typer.Option(128, help="main LSTM units"),
    hyper_hidden: int = typer.Option(32, help="HyperLSTM units"),
    z_dim: int = typer.Option(4),
    match: str = typer.Option(None, help="size `hidden` to this kind's parameter count (e.g. hyper-lstm)"),
    steps: int = typer.Option(2000),
    seq_len: int = typer.Option(100),
    batch: int = typer.Option(32),
    lr: float = typer.Option(2e-3),
    seed: int = typer.Option(0),
    out: Path = typer.Option(None, help="model path (default runs/hyper-lstm/KIND); a checkpoint beside it resumes"),
) -> None:
    """A character-level language model (LSTM, layer-norm LSTM or HyperLSTM); prints validation bits/char."""
    from rich.progress import Progress

    from weightspace.data import load_text
    from weightspace.hyper.lstm import (
        LMConfig,
        LMRecipe,
        bits_per_char,
        matched_hidden,
        parameters_of,
        save_lm,
        train_lm,
    )

    corpus = load_text(text)
    config = LMConfig(kind=kind, vocab=corpus.vocab, hidden=hidden, hyper_hidden=hyper_hidden, z_dim=z_dim)
    if match:
        budget = parameters_of(config.model_copy(update={"kind": match}))
        config = config.model_copy(update={"hidden": matched_hidden(config, budget)})
    recipe = LMRecipe(steps=steps, seq_len=seq_len, batch=batch, lr=lr, seed=seed)
    out = (out or Path("runs/hyper-lstm") / kind).with_suffix("")
    console.print(f"{kind}: hidden {config.hidden}, {parameters_of(config):,} parameters; {corpus.summary()}")
    with Progress(console=console, transient=True) as bar:
        job = bar.add_task(kind, total=steps)

        def on_eval(row):
            bar.update(job, completed=row["step"], description=f"{kind} valid {row['valid_bpc']:.3f} bpc")

        model, history = train_lm(config, corpus.train, corpus.valid, recipe, f"{out}.ckpt.safetensors", on_eval)
    path = save_lm(model, out, history)
    test = bits_per_char(model, corpus.test)
    result = {"kind": kind, "parameters": parameters_of(config), "hidden": config.hidden, "steps": steps}
    _write_json(out.with_suffix(".result.json"), result | {"valid_bpc": history[-1]["valid_bpc"], "test_bpc": test})
    console.print(f"{kind}: valid {history[-1]['valid_bpc']:.3f} bpc, test {test:.3f} bpc; saved {path}")


@hyper_train_app.command("generator")
def hyper_train_generator(
    zoo: Path = typer.Option(..., help="a one-vs-rest zoo (e.g. `zoo generate --preset digits-lenet5`)"),
    steps: int = typer.Option(600),
    components: int = typer.Option(256, help="principal components of the aligned zoo (at most its size - 1)"),
    functional_weight: float = typer.Option(1.0, help="weight of the task loss on real data (0: weights only)"),
    per_class: int = typer.Option(20, help="networks generated per task for the evaluation"),
    seed: int = typer.Option(0),
    out: Path = typer.Option(Path("runs/hyper-gen/generator"), help="model path; a checkpoint beside it resumes"),
) -> None:
    """A conditional generator of complete networks, trained on a zoo; evaluated against the zoo and random init."""
    from rich.progress import Progress

    from weightspace.hyper.generator import GeneratorConfig, evaluate_generator, save_generator, train_generator
    from weightspace.zoo import Zoo

    config = GeneratorConfig(steps=steps, components=components, functional_weight=functional_weight, seed=seed)
    out = out.with_suffix("")
    with Progress(console=console, transient=True) as bar:
        job = bar.add_task("generator", total=steps)

        def on_step(step, row):
            bar.update(job, completed=step, description=f"mmd {row['mmd']:.3f} task {row.get('task_loss', 0):.3f}")

        source = Zoo.open(zoo)
        model, aligned, _ = train_generator(source, config, f"{out}.ckpt.safetensors", on_step)
    report = evaluate_generator(model, aligned, per_class, seed)
    path = save_generator(model, out, report)
    table = Table("networks", "count", "accuracy", "recall", "AUC", "dist. within task", "dist. to nearest member",
                  title=f"generator on {zoo} (test data; distances after alignment)")  # fmt: skip
    for name, r in report.items():
        if name != "per_task_generated":
            cells = [f"{r[k]:.3f}" for k in ("accuracy", "recall", "auc")]
            dists = [f"{r[k]:.2f}" for k in ("distance_within_task", "distance_to_nearest_train_member")]
            table.add_row(name, str(r["networks"]), *cells, *dists)
    console.print(table)
    console.print(f"saved {path} (report in {path.with_suffix('.json')})")


@hyper_app.command("generate")
def hyper_generate(
    model_path: Path = typer.Argument(..., help="a generator saved by `hyper train generator`"),
    out: Path = typer.Option(..., help="directory for the generated zoo"),
    per_class: int = typer.Option(20, help="networks per task"),
    seed: int = typer.Option(0),
) -> None:
    """Write generated networks as a Zoo (with their test metrics), readable by `zoo classify` and `encode`."""
    from weightspace.hyper.generator import load_generator, write_generated

    generated = write_generated(load_generator(model_path), out, per_class, seed)
    means = generated.table[["test_accuracy", "test_recall", "test_auc"]].mean()
    console.print(
        f"{generated!r}: mean test accuracy {means['test_accuracy']:.3f}, recall {means['test_recall']:.3f}, "
        f"AUC {means['test_auc']:.3f}"
    )


@hyper_app.command("eval")
def hyper_eval(
    model_path: Path = typer.Argument(..., help="a language model saved by `hyper train lstm`"),
    text: Path = typer.Option(None, help="the text it was trained on (default: the stdlib docs)"),
) -> None:
    """Bits per character of a trained language model on the held-out test text."""
    from weightspace.data import load_text
    from weightspace.hyper.lstm import bits_per_char, load_lm

    model, corpus = load_lm(model_path), load_text(text)
    if corpus.vocab != model.config.vocab:
        raise WeightspaceError("this text's characters differ from the model's vocabulary; pass the training text")
    console.print(f"{model.config.kind}: test {bits_per_char(model, corpus.test):.3f} bits/char")


@hyper_app.command("sample")
def hyper_sample(
    model_path: Path = typer.Argument(..., help="a language model saved by `hyper train lstm`"),
    prime: str = typer.Option("The ", help="text to start from"),
    length: int = typer.Option(300),
    temperature: float = typer.Option(0.8),
    seed: int = typer.Option(0),
) -> None:
    """Generate text one character at a time."""
    from weightspace.hyper.lstm import load_lm

    console.print(load_lm(model_path).sample(prime, length, temperature, seed), highlight=False, markup=False)


@swat_app.command("train-ae")
def swat_train_ae(
    steps: int = typer.Option(12000, help="batches of 64 random networks"),
    d: int = typer.Option(128, help="latent width per token"),
    encoder_layers: int = typer.Option(3),
    decoder_layers: int = typer.Option(2),
    mixed_activations: bool = typer.Option(False, help="the authors' softmaxed activation code"),
    lr: float = typer.Option(1e-3),
    seed: int = typer.Option(0),
    out: Path = typer.Option(Path("runs/swat/ae"), help="model path; a checkpoint beside it resumes"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
) -> None:
    """Train the multi-scale autoencoder on freshly sampled random MLPs (resumable)."""
    from rich.progress import Progress

    from weightspace.swat.autoencoder import AEConfig, Recipe, save_autoencoder, train_autoencoder

    config = AEConfig(
        d=d, encoder_layers=encoder_layers, decoder_layers=decoder_layers, mixed_activations=mixed_activations
    )
    recipe = Recipe(steps=steps, lr=lr, seed=seed)
    out = out.with_suffix("")
    with Progress(console=console, transient=True) as bar:
        job = bar.add_task("autoencoder", total=steps)

        def on_eval(row):
            bar.update(job, completed=row["step"], description=f"held-out MSE {row['mse']:.3f}")
            console.print(
                f"step {row['step']}: train {row['train_loss']:.4f}, held-out scaled {row['scaled']:.4f}, "
                f"MSE {row['mse']:.3f}, normalised median {row['normalised_median']:.4f}, "
                f"own-depth decoder {row['own_depth_decoder']:.2f}, {row['networks_per_s']:.0f} nets/s"
            )

        ae, history = train_autoencoder(config, recipe, f"{out}.ckpt.safetensors", on_eval, device)
    console.print(f"saved {save_autoencoder(ae, out, history)}")


@swat_app.command("search")
def swat_search(
    task: str = typer.Option(..., help="a regression task: cornn:NAME (e.g. cornn:ackley)"),
    depth: int = typer.Option(2, help="hidden layers: which decoder to search through (1-4)"),
    ae: Path = typer.Option(Path("runs/swat/ae"), help="trained autoencoder (`swat train-ae`)"),
    steps: int = typer.Option(8001, help="Adam steps (the paper: 8,001)"),
    anneal: int = typer.Option(3000, help="temperature floor and start of selection (the paper: 3,000)"),
    seed: int = typer.Option(0),
    out: Path = typer.Option(None, help="where to save the network (default runs/swat/TASK-depthL.safetensors)"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
) -> None:
    """Gradient descent in the latent space for one task: prints test MSE and size, saves the extracted Net."""
    from rich.progress import Progress

    from weightspace.data import load
    from weightspace.swat.autoencoder import load_autoencoder
    from weightspace.swat.bench import CEILING
    from weightspace.swat.search import SearchConfig, search

    data, model = load(task), load_autoencoder(ae)
    config = SearchConfig(steps=steps, anneal=anneal, seed=seed)
    with Progress(console=console, transient=True) as bar:
        job = bar.add_task("search", total=steps)

        def on_step(step, losses):
            if step % 50 == 0 or step == steps - 1:
                bar.update(job, completed=step + 1, description=f"loss {losses[0].item():.4f}")

        found = search(model, [data], depth, config, on_step, device)[0]
    out = out or Path("runs/swat") / f"{data.name.replace(':', '-')}-depth{depth}.safetensors"
    out.parent.mkdir(parents=True, exist_ok=True)
    found.net.save(out)
    mean_mse = (data.y_test - data.y_train.mean()).pow(2).mean().item()
    console.print(
        f"{data.name} depth {depth}: test MSE {found.test_mse:.5f} (predict-the-mean {mean_mse:.5f}), "
        f"train MSE {found.train_mse:.5f}, {found.active_neurons} active neurons, "
        f"{found.nonzero_parameters} non-zero parameters (ceiling {CEILING[depth]}); "
        f"layers {[layer.kind for layer in found.net.spec.layers]}; saved {out}"
    )


@swat_app.command("bench")
def swat_bench(
    ae: Path = typer.Option(Path("runs/swat/ae"), help="trained autoencoder"),
    depths: str = typer.Option("1,2,3,4", help="comma-separated depths"),
    steps_scale: float = typer.Option(1.0, help="multiply every step count (search and baselines)"),
    tasks: str = typer.Option("all", help="comma-separated CORNN names, or all (54)"),
    out: Path = typer.Option(Path("benchmarks/results/swat"), help="results folder (resumable per entry)"),
    device: str = typer.Option("cpu", help="cpu or cuda"),
) -> None:
    """SWAT and its baselines on the CORNN tasks: tables and a plot of test MSE vs non-zero parameters."""
    from weightspace.swat.bench import run_bench

    names = None if tasks == "all" else [t.strip() for t in tasks.split(",")]
    report = run_bench(ae, [int(d) for d in depths.split(",")], steps_scale, names, out, console.print, device)
    console.print(report, highlight=False, markup=False)


def _write_json(path: Path, data) -> None:
    import json

    from weightspace.fileio import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=2))


def main() -> None:
    """Entry point: user errors print one clear line instead of a traceback."""
    try:
        app()
    except WeightspaceError as err:
        console.print(f"[red]error:[/red] {err}", highlight=False)
        sys.exit(2)
    except ValidationError as err:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        console.print(f"[red]invalid {err.title}:[/red] {details}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
