"""`weightspace zoo`: generate, inspect, verify, classify, import and export model zoos."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.table import Table

from weightspace.cli import options
from weightspace.cli.app import console, zoo_app
from weightspace.errors import WeightspaceError


@zoo_app.command("generate")
def zoo_generate(
    out: Path = options.out_dir(..., "directory the zoo is written to"),
    preset_name: str = typer.Option(None, "--preset", help="a zoo preset (see `weightspace zoo presets`)"),
    config: Path = typer.Option(None, "--config", exists=True, dir_okay=False, help="a YAML zoo config"),
    data: Path = typer.Option(None, "--data", exists=True, file_okay=False, help="dataset folder (ImageNette, ...)"),
    per_task: int = options.count(None, "networks per task"),
    epochs: int = options.count(None, "training epochs per network"),
    shard_size: int = options.count(None, "networks per shard (trained together by the batched engine)"),
    seed: int = options.seed(None, "base seed (0 .. 2^32-1); every network's seeds derive from it"),
    workers: int = options.count(None, "local worker processes, one thread each (default: one per core on a CPU)"),
    dask: str = typer.Option(None, help="Dask scheduler address, e.g. tcp://host:8786 (reached before writing)"),
    device: str = options.device(),
    resume: bool = typer.Option(False, help="complete a zoo that was interrupted (damaged or foreign shards redone)"),
    stop_on_damage: bool = typer.Option(False, help="with --resume: stop and name a damaged or foreign shard"),
    fast_gpu: bool = typer.Option(False, help="GPU only: TF32 and atomic kernels, ~5x faster, not bit-reproducible"),
    kernels: str = typer.Option(
        None, help="how convs run: grouped (CPU default), unfold (CUDA default), inductor, triton (implicit GEMM)"
    ),
    compile_step: bool = typer.Option(
        None, "--compile/--no-compile", help="CPU: compile each network's step (1.2x once warm; config `compile`)"
    ),
    shared_order: bool = typer.Option(
        None,
        "--shared-order/--independent-order",
        help="a shard's networks see the same batch order (faster first layer on a GPU; config `shared_order`)",
    ),
    order_groups: int = options.count(None, "K batch orders per shard, one per run of networks (`shared_order: K`)"),
) -> None:
    """Generate a zoo: seeded, batched, resumable, on one process, a local pool or a Dask cluster."""
    from weightspace.zoo import ZooConfig, zoo_preset

    if (preset_name is None) == (config is None):
        raise WeightspaceError("give exactly one of --preset NAME or --config FILE")
    if workers is not None and workers > 1 and dask:
        raise WeightspaceError("give --workers or --dask, not both")
    if workers is None:  # all cores, never more threads than cores: each worker trains with one thread
        from weightspace.device import usable_cores

        workers = usable_cores() if device == "cpu" and not dask else 1
    cfg = zoo_preset(preset_name) if preset_name else ZooConfig.from_yaml(config)
    changes = {"data_root": str(data) if data else None, "per_task": per_task, "shard_size": shard_size, "seed": seed}
    if order_groups is not None and shared_order is not None:
        raise WeightspaceError("give --order-groups K or --shared-order/--independent-order, not both")
    changes |= {"compile": compile_step, "shared_order": order_groups if order_groups is not None else shared_order}
    changes = {k: v for k, v in changes.items() if v is not None}
    if epochs is not None:
        changes["training"] = cfg.training.model_copy(update={"epochs": epochs})
        changes["checkpoints"] = [e for e in (cfg.checkpoints or []) if e <= epochs] or None
    cfg = ZooConfig.model_validate(cfg.model_dump() | changes).check()
    from weightspace.recipes import run_zoo as run

    start = time.perf_counter()
    zoo = run(
        cfg, out, device, workers=workers, dask=dask, resume=resume, console=console, deterministic=not fast_gpu,
        stop_on_damage=stop_on_damage, kernels=kernels,
    )  # fmt: skip
    networks, minutes = zoo.table["model_id"].nunique(), (time.perf_counter() - start) / 60
    console.print(
        f"{zoo}: {networks} networks in {minutes:.1f} min ({networks / max(minutes, 1e-9):.1f} networks/min, "
        f"resumed parts included); verify with `weightspace zoo verify {out}`"
    )


@zoo_app.command("presets")
def zoo_presets() -> None:
    """List the zoo presets."""
    from weightspace.zoo import ZOO_PRESETS

    table = Table(title="zoo presets")
    for col in ("name", "dataset", "architecture", "tasks", "networks", "epochs"):
        table.add_column(col, no_wrap=col == "name")
    for name, cfg in ZOO_PRESETS.items():
        n_tasks = 1 if cfg.tasks == "multiclass" else len(cfg.classes or range(10))
        varied = " (varied hyperparameters)" if cfg.varied else ""
        table.add_row(
            name,
            cfg.dataset,
            ", ".join(a.preset for a in cfg.archs),
            cfg.tasks + varied,
            f"{n_tasks * cfg.per_task:,}",
            str(cfg.training.epochs),
        )
    console.print(table)


@zoo_app.command("info")
def zoo_info(
    root: Path = options.zoo_dir(),
    plot: Path = options.image_file(None, "histogram of test metrics (default ROOT/metrics.png)"),
) -> None:
    """What a zoo holds: networks, tasks, checkpoints, architecture, per-task metrics and their histograms."""
    from weightspace.report import metric_histograms, metric_table
    from weightspace.zoo import Zoo, beside

    zoo = Zoo.open(root)
    t = zoo.table
    networks = t["model_id"].nunique() if "model_id" in t.columns else len(t)
    parts = [f"{networks} networks", f"{len(t)} rows", f"{len(zoo.manifest['shards'])} shards"]
    if "task" in t.columns:
        parts.append(f"{t['task'].nunique()} tasks")
    if "epoch" in t.columns and t["epoch"].notna().any():
        parts.append(f"checkpoints at epochs {sorted(int(e) for e in t['epoch'].dropna().unique())}")
    specs = ", ".join(f"{s.name or 'unnamed'} ({s.num_params():,} parameters)" for s in zoo.specs)
    console.print(f"{zoo.manifest['name']}: {', '.join(parts)}; {specs}", highlight=False)
    source = zoo.manifest["config"].get("source")
    if source:
        console.print(f"imported from: {source}", highlight=False)
    missing = zoo.missing_shards()
    if missing:
        console.print(f"[red]missing shard files:[/red] {', '.join(missing)}; run `weightspace zoo verify {root}`")
    console.print(metric_table(zoo))
    path = metric_histograms(t, plot or beside(root, "metrics.png"), title=zoo.manifest["name"])
    if path:
        console.print(f"histograms: {path}")


@zoo_app.command("verify")
def zoo_verify(root: Path = options.zoo_dir()) -> None:
    """Check every hash, row, shard and shape; list what is missing or damaged (exit 1 if anything is)."""
    from weightspace.zoo import verify

    problems = verify(root)
    if problems:
        for p in problems:
            console.print(f"[red]x[/red] {p}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"[green]ok[/green] {root}: zoo.json, models.parquet, every shard, row and shape check out")


@zoo_app.command("classify")
def zoo_classify(
    root: Path = options.zoo_dir(),
    target: str = typer.Option("task", help="the column to predict from the weights"),
    seed: int = options.seed(),
    plot: Path = options.image_file(None, "confusion-matrix plot (default ROOT/classify.png)"),
) -> None:
    """Predict which task each network solves from its weights (the seed dataset's experiment)."""
    from weightspace.zoo import Zoo, classify

    result = classify(Zoo.open(root), target=target, seed=seed)
    from weightspace.zoo import beside, write_classify

    write_classify(root, result, target)
    print_classify(result, target, plot or beside(root, "classify.png"))


@zoo_app.command("sine-inr")
def zoo_sine_inr(
    out: Path = options.out_dir(..., "directory the zoo is written to"),
    networks: int = options.count(1000, "how many SIRENs", 2, 10_000_000),
    steps: int = options.count(800, "Adam steps per SIREN (all train at once)"),
    seed: int = options.seed(),
    device: str = options.device(),
) -> None:
    """The SNE paper's INR zoo: SIREN 1-32-32-1 fit to sin(a x), a ~ U(0.5, 10); target column `frequency`."""
    from weightspace.zoo import make_sine_inr_zoo

    zoo = make_sine_inr_zoo(out, networks=networks, seed=seed, steps=steps, device=device)
    console.print(f"{zoo}; mean fit MSE {zoo.table['fit_mse'].mean():.2e}")


@zoo_app.command("inr")
def zoo_inr(
    out: Path = options.out_dir(..., "directory the zoo is written to"),
    dataset: str = typer.Option("fashion-mnist", help="fashion-mnist (70,000 images) | mnist5k (5,000) | digits"),
    per_class: int = options.count(None, "a stratified subset: this many images of every class (default: all)"),
    steps: int = options.count(1000, "Adam steps per INR at most (DWSNets: 1,000)"),
    stop_psnr: float = options.real(40.0, "stop an INR once its PSNR reaches this (dB; DWSNets: 40)", above=0),
    shard_size: int = options.count(500, "INRs per shard (the unit of resuming)"),
    batch: int = options.count(16, "INRs fitted at once (memory: ~0.8 MB each; a GPU takes thousands)", 1, 1_000_000),
    seed: int = options.seed(),
    resume: bool = typer.Option(False, help="complete a zoo that was interrupted"),
    device: str = options.device(),
) -> None:
    """One SIREN per image (DWSNets' protocol: 2-32-32-1, w0 30, Adam 5e-4): the INR-classification benchmark."""
    from weightspace.train import SirenFit
    from weightspace.zoo import make_image_inr_zoo

    fit = SirenFit(steps=steps, stop_psnr=stop_psnr)
    start = time.perf_counter()
    zoo = make_image_inr_zoo(
        out, dataset, per_class, seed, fit, shard_size, batch, resume=resume, console=console, device=device
    )
    seconds = time.perf_counter() - start
    table = zoo.table
    console.print(
        f"{zoo}: {len(zoo)} INRs in {seconds:.0f} s; PSNR mean {table['psnr'].mean():.1f} dB "
        f"(min {table['psnr'].min():.1f}), {(table['steps'] < steps).mean():.0%} stopped early; "
        f"splits {', '.join(f'{k} {v}' for k, v in table['split'].value_counts().items())}",
        highlight=False,
    )


@zoo_app.command("show-inr")
def zoo_show_inr(
    root: Path = options.zoo_dir("an image-INR zoo (`zoo inr`, or `zoo import inr-dir` of MNIST/Fashion INRs)"),
    out: Path = options.image_file(..., "the picture to write (.png, .pdf, .svg, .jpg)", "--out"),
    count: int = options.count(16, "how many INRs (the first rows of each class in turn)", 1, 256),
) -> None:
    """Render INRs back to images, each beside its original: a look at the fits."""
    from weightspace.report import inr_grid
    from weightspace.train import psnr
    from weightspace.zoo import Zoo, decode_inrs

    zoo = Zoo.open(root)
    order = zoo.table.groupby("task", sort=True).cumcount().to_numpy().argsort(kind="stable")[:count].tolist()
    originals, images = decode_inrs(zoo, order)
    psnrs = psnr(((originals - images) ** 2).mean((1, 2))).tolist()
    path = inr_grid(originals, images, [str(t) for t in zoo.table["task"].iloc[order]], psnrs, out)
    console.print(f"{len(order)} INRs and their images: {path} (mean PSNR {sum(psnrs) / len(psnrs):.1f} dB)")


@zoo_app.command("import")
def zoo_import(
    fmt: str = typer.Argument(
        ...,
        help="auto | seed-keras | keras-h5 | small-cnn | safetensors-dir | state-dicts | "
        "model-zoo | cnn-park | sentence-transformer | inr-dir (see `zoo formats`)",
    ),
    source: Path = typer.Argument(..., exists=True, file_okay=False, help="the folder to import"),
    out: Path = options.out_dir(..., "the new zoo directory"),
    arch: str = typer.Option(None, help="architecture when the files do not carry one: a preset or a spec .json"),
    epochs: int = options.count(20, "seed-keras: the epoch of each network's final weights (the seed trains 20)"),
    resume: bool = typer.Option(False, help="seed-keras: complete an interrupted import"),
    tokens: int = options.count(None, "sentence-transformer: token ids per input (default 128)", 1, 4096),
) -> None:
    """Bring an existing zoo into weightspace's format (no pickle is ever loaded)."""
    from weightspace.nets import resolve_spec
    from weightspace.zoo.formats import IMPORTS, detect_format, import_zoo

    if fmt != "auto" and fmt not in IMPORTS:
        raise WeightspaceError(f"unknown format {fmt!r}; choose auto or one of: {', '.join(IMPORTS)}")
    fmt = detect_format(source) if fmt == "auto" else fmt
    spec = resolve_spec(arch) if arch else None
    extra = {"epochs": epochs, "resume": resume, "console": console} if fmt == "seed-keras" else {"tokens": tokens}
    if fmt != "seed-keras" and (resume or epochs != 20):
        raise WeightspaceError("--epochs and --resume apply to seed-keras imports")
    zoo = import_zoo(fmt, source, out, spec, **extra)
    networks = zoo.table["model_id"].nunique() if "model_id" in zoo.table.columns else len(zoo)
    console.print(f"imported {networks} networks ({len(zoo)} rows, format {fmt}) into {out}")


@zoo_app.command("export")
def zoo_export(
    fmt: str = typer.Argument(..., help="safetensors-dir | small-cnn | hf-parquet (see `zoo formats`)"),
    root: Path = options.zoo_dir(),
    out: Path = options.out_dir(..., "where the export is written"),
) -> None:
    """Write a zoo in a layout other tools read."""
    from weightspace.zoo import Zoo
    from weightspace.zoo.formats import EXPORTS, export_zoo

    if fmt not in EXPORTS:
        raise WeightspaceError(f"unknown format {fmt!r}; choose one of: {', '.join(EXPORTS)}")
    zoo = Zoo.open(root)
    export_zoo(fmt, zoo, out)
    console.print(f"exported {len(zoo)} rows to {out}")


@zoo_app.command("formats")
def zoo_formats() -> None:
    """The formats `zoo import` reads and `zoo export` writes."""
    from weightspace.zoo.formats import EXPORTS, IMPORTS

    table = Table(title="zoo formats")
    for col in ("format", "direction", "what"):
        table.add_column(col, no_wrap=col != "what")
    for name, what in IMPORTS.items():
        table.add_row(name, "import", what)
    for name, what in EXPORTS.items():
        table.add_row(name, "export", what)
    console.print(table)


def print_classify(result, target: str, plot: Path | None) -> None:
    """The classify table and per-class recall; with `plot`, also the confusion matrix there."""
    from weightspace.report import classify_table, plot_confusion

    console.print(classify_table(result, target))
    recall = ", ".join(f"{k}: {v:.2f}" for k, v in result.recall.items())
    console.print(f"best: {' + '.join(result.best)}; per-class recall: {recall}")
    if plot is not None:
        console.print(f"confusion matrix: {plot_confusion(result, plot)}")
