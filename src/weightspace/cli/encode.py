"""`weightspace encode`: train, evaluate and apply weight-space encoders."""

from __future__ import annotations

from pathlib import Path

import typer

from weightspace.cli import options
from weightspace.cli.app import console, encode_app


@encode_app.command("train")
def encode_train(
    zoo_dir: Path = options.zoo_option("zoo directory to train on (its train/val split)"),
    target: str = typer.Option("test_accuracy", help="the zoo column to predict"),
    encoder: str = typer.Option("sne", help="sne | mlp | statnn | deepsets | nfn-np | nfn-hnp | graph | probe"),
    out: Path = typer.Option(None, dir_okay=False, help="where the encoder is saved (default ZOO/encoders/ENC-TARGET)"),
    task: str = typer.Option(None, help="regression | probability | classes (default: from the column)"),
    epochs: int = options.count(50, "training epochs"),
    batch_size: int = options.count(32, "networks per batch"),
    lr: float = options.real(1e-3, "Adam learning rate", above=0),
    li_weight: float = options.real(1.0, "logit-invariance weight (0: off)", low=0),
    positional: bool = typer.Option(True, help="SNE's type/level encodings"),
    canonical: bool = typer.Option(False, help="SNE sorts hidden units first: exactly permutation invariant"),
    width: int = options.width(32, "set-function width"),
    depth: int = options.width(2, "SABs per set-to-set (graph: message-passing rounds)"),
    augment: list[str] = typer.Option(
        [], help="a symmetric twin of every training batch: permute (hidden units) | sign-flip (sin/tanh networks)"
    ),
    dim: int = options.width(32, "embedding size"),
    probes: int = options.width(32, "probe: learned inputs per network"),
    probe_generator: str = typer.Option("none", help="probe: none (free inputs) | deep-linear (ProbeGen's generator)"),
    seed: int = options.seed(),
    device: str = options.device(),
) -> None:
    """Train an encoder + predictor head on a zoo; save it; print test metrics and a predicted-vs-true plot."""
    import json

    from weightspace.encode import EncoderConfig, FitConfig
    from weightspace.progress import progress_bar
    from weightspace.recipes import EncoderTrainingConfig
    from weightspace.recipes import run_encoder as run
    from weightspace.zoo import beside

    config = EncoderTrainingConfig(
        zoo=zoo_dir,
        encoder=EncoderConfig(
            kind=encoder,
            target=target,
            positional=positional,
            canonical=canonical,
            width=width,
            depth=depth,
            dim=dim,
            probes=probes,
            probe_generator=probe_generator,
        ),
        fit=FitConfig(epochs=epochs, batch_size=batch_size, lr=lr, li_weight=li_weight, seed=seed, augment=augment),
        task=task,
        split_seed=seed,
    )
    with progress_bar(console, transient=True) as bar:
        job = bar.add_task(f"training {encoder}", total=epochs)

        def on_epoch(epoch, train_loss, val_loss):
            val = "" if val_loss is None else f" val {val_loss:.4f}"
            bar.update(job, completed=epoch, description=f"{encoder} loss {train_loss:.4f}{val}")

        report = run(config, out or beside(zoo_dir, "encoders") / f"{encoder}-{target}", device, on_epoch)
    path, plot = Path(report["model"]), report["plot"]
    shown = {k: round(v, 4) for k, v in report["test"].items()}
    console.print(
        f"{encoder}: test {json.dumps(shown)}; symmetry gap {report['permutation_gap']:.1e}; "
        f"{report['seconds_per_epoch']:.1f} s/epoch"
    )
    console.print(f"saved {path} (+ .json config); plot {plot}")


@encode_app.command("eval")
def encode_eval(
    encoder_path: Path = options.model_file("a saved encoder (.safetensors; its .json beside it)"),
    zoo_dir: Path = options.zoo_option("zoo to evaluate on (any dataset or architecture)"),
    split: str = typer.Option("test", help="test | val | train | all"),
    seed: int = options.seed(0, "split seed (the one used in training)"),
    plot: Path = options.image_file(None, "predicted-vs-true plot (default next to the encoder)"),
) -> None:
    """Evaluate a trained encoder on a zoo without retraining (cross-dataset, cross-architecture)."""
    from weightspace.encode import Predictor
    from weightspace.recipes import evaluate_on_zoo
    from weightspace.report import plot_predictions
    from weightspace.zoo import Zoo

    model, zoo = Predictor.load(encoder_path), Zoo.open(zoo_dir)
    scores, pred, true = evaluate_on_zoo(model, zoo, split, seed)
    plot = plot or Path(encoder_path).with_name(f"{Path(encoder_path).stem}-on-{zoo.root.name}.png")
    plot_predictions(pred, true, model.config.task, plot, f"{model.config.kind} on {zoo.root.name}")
    console.print(" ".join(f"{k} {v:.4f}" for k, v in scores.items()) + f" ({len(true)} rows); plot {plot}")


@encode_app.command("embed")
def encode_embed(
    encoder_path: Path = options.model_file("a saved encoder"),
    zoo_dir: Path = options.zoo_option("zoo whose networks are embedded"),
    name: str = options.name("file name under ZOO/embeddings (default: the encoder's)"),
) -> None:
    """One embedding per network, written next to the zoo, and a 2-D projection coloured by the target."""
    from safetensors.torch import load_file

    from weightspace.encode import Predictor
    from weightspace.recipes import embed_zoo
    from weightspace.report import plot_embedding
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
