"""`weightspace swat`: SWAT-NN's autoencoder, latent search and CORNN benchmark."""

from __future__ import annotations

from pathlib import Path

import typer

from weightspace.cli import options
from weightspace.cli.app import console, swat_app, swat_train_app
from weightspace.errors import WeightspaceError


@swat_train_app.command("autoencoder")
def swat_train_ae(
    steps: int = options.count(20000, "batches of 64 random networks"),
    d: int = options.width(128, "latent width per token"),
    encoder_layers: int = options.width(3, "transformer layers of the encoder"),
    decoder_layers: int = options.width(2, "transformer layers of each decoder"),
    mixed_activations: bool = typer.Option(False, help="the authors' softmaxed activation code"),
    lr: float = options.real(1e-3, "Adam learning rate", above=0),
    seed: int = options.seed(),
    out: Path = typer.Option(Path("runs/swat/ae"), dir_okay=False, help="model path; a checkpoint beside it resumes"),
    device: str = options.device(),
) -> None:
    """Train the multi-scale autoencoder on freshly sampled random MLPs (resumable)."""
    from weightspace.progress import progress_bar
    from weightspace.recipes import AutoencoderConfig, run_autoencoder
    from weightspace.swat import AEConfig, AETraining

    model = AEConfig(
        d=d, encoder_layers=encoder_layers, decoder_layers=decoder_layers, mixed_activations=mixed_activations
    )
    config = AutoencoderConfig(model=model, training=AETraining(steps=steps, lr=lr, seed=seed))
    with progress_bar(console, transient=True) as bar:
        job = bar.add_task("autoencoder", total=steps)

        def on_eval(row):
            bar.update(job, completed=row["step"], description=f"held-out MSE {row['mse']:.3f}")
            console.print(
                f"step {row['step']}: train {row['train_loss']:.4f}, held-out scaled {row['scaled']:.4f}, "
                f"MSE {row['mse']:.3f}, normalised median {row['normalised_median']:.4f}, "
                f"own-depth decoder {row['own_depth_decoder']:.2f}, {row['networks_per_s']:.0f} nets/s"
            )

        result = run_autoencoder(config, out, device, on_eval)
    console.print(f"saved {result['model']}")


@swat_app.command("search")
def swat_search(
    task: str = typer.Option(..., help="a regression task: cornn:NAME (e.g. cornn:ackley)"),
    depth: int = options.count(2, "hidden layers: which decoder to search through (1-4)", 1, 4),
    ae: Path = typer.Option(Path("runs/swat/ae"), help="trained autoencoder (`swat train autoencoder`)"),
    steps: int = options.count(8001, "Adam steps (the paper: 8,001)"),
    anneal: int = options.count(3000, "temperature floor and start of selection (the paper: 3,000)", 0),
    seed: int = options.seed(),
    out: Path = options.out_file(None, "where to save the network (default runs/swat/TASK-depthL.safetensors)"),
    device: str = options.device(),
) -> None:
    """Gradient descent in the latent space for one task: prints test MSE and size, saves the extracted Net."""
    from weightspace.progress import progress_bar
    from weightspace.recipes import CEILING, SearchRunConfig, run_search
    from weightspace.swat import SearchConfig

    config = SearchRunConfig(task=task, depth=depth, ae=ae, search=SearchConfig(steps=steps, anneal=anneal, seed=seed))
    out = out or Path("runs/swat") / f"{task.replace(':', '-')}-depth{depth}.safetensors"
    with progress_bar(console, transient=True) as bar:
        job = bar.add_task("search", total=steps)

        def on_step(step, losses):
            if step % 50 == 0 or step == steps - 1:
                bar.update(job, completed=step + 1, description=f"loss {losses[0].item():.4f}")

        found, data = run_search(config, out, device, on_step)
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
    steps_scale: float = options.real(1.0, "multiply every step count (search and baselines)", above=0, high=100),
    tasks: str = typer.Option("all", help="comma-separated CORNN names, or all (54)"),
    out: Path = options.out_dir(Path("runs/swat-bench"), "results folder (entries reused only for equal settings)"),
    report_only: bool = typer.Option(False, help="rebuild the tables and plot from the stored entries alone"),
    device: str = options.device(),
) -> None:
    """SWAT and its baselines on the CORNN tasks: tables and a plot of test MSE vs non-zero parameters."""
    from weightspace.recipes import SwatBenchConfig
    from weightspace.recipes import run_swat_bench as run

    names = None if tasks == "all" else [t.strip() for t in tasks.split(",")]
    try:
        levels = [int(d) for d in depths.split(",")]
    except ValueError:
        raise WeightspaceError(f"--depths {depths!r}: give comma-separated whole numbers, e.g. 1,2") from None
    if not levels or not all(1 <= d <= 4 for d in levels):
        raise WeightspaceError(f"--depths {depths!r}: every depth must be 1..4")
    config = SwatBenchConfig(ae=ae, depths=levels, steps_scale=steps_scale, tasks=names, report_only=report_only)
    report = run(config, out, device, console.print)
    console.print(report, highlight=False, markup=False, soft_wrap=True)
