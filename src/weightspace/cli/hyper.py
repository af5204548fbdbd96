"""`weightspace hyper`: static hypernetworks, HyperLSTM language models, zoo-trained generators."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from weightspace.cli import options
from weightspace.cli.app import console, hyper_app, hyper_train_app
from weightspace.errors import WeightspaceError


@hyper_train_app.command("static")
def hyper_train_static(
    dataset: str = typer.Option("mnist5k", help="mnist5k | fashion-mnist | digits"),
    model: str = typer.Option("ha-mnist-cnn", help="ha-mnist-cnn (its second conv generated) | wrn (every 3x3)"),
    depth: int = options.count(10, "wrn depth, 6n + 4 (Ha et al.: 40)"),
    widen: int = options.count(2, "wrn widen factor (Ha et al.: 2)"),
    train_size: int = options.count(None, "training images, a seeded subset (default: all)"),
    epochs: int = options.count(10, "training epochs of each model"),
    batch_size: int = options.count(64, "batch size"),
    z_dim: int = options.width(None, "N_z = d of the kernel generator (default: the paper's, 4 or 64)"),
    seeds: int = options.count(1, "seeds (seed, seed + 1, ...): a mean row per model follows"),
    seed: int = options.seed(),
    out: Path = options.out_dir(Path("runs/hyper-static"), "checkpoints and results.json (rerun to resume)"),
    device: str = options.device(),
) -> None:
    """Ha et al.'s static hypernetwork: a CNN's second conv kernel, or every 3x3 kernel of a WRN, generated."""
    from weightspace.progress import progress_bar
    from weightspace.recipes import StaticHyperConfig
    from weightspace.recipes import run_static_hyper as run

    config = StaticHyperConfig(
        dataset=dataset, model=model, depth=depth, widen=widen, train_size=train_size, epochs=epochs,
        batch_size=batch_size, z_dim=z_dim, seeds=seeds, seed=seed,
    )  # fmt: skip
    out = out / dataset if model == "ha-mnist-cnn" else out / f"{dataset}-{model}"
    with progress_bar(console, transient=True) as bar:
        job = bar.add_task("training", total=2 * epochs * seeds)

        def on_epoch(label, row):
            bar.advance(job)
            bar.update(job, description=f"{label} epoch {row['epoch']} test acc {row['test_accuracy']:.4f}")

        rows = run(config, out, device, on_epoch=on_epoch)
    title = f"static hypernetwork, {rows[0]['network']} on {dataset}"
    table = Table("model", "seed", "parameters", "generated kernels' parameters", "test error", title=title)
    for r in rows:
        error = f"{100 * r['test_error']:.2f} %" + (
            f" ± {100 * r['test_error_std']:.2f}" if "test_error_std" in r else ""
        )
        table.add_row(r["model"], str(r["seed"]), f"{r['parameters']:,}", f"{r['generated_parameters']:,}", error)
    console.print(table)
    console.print(f"wrote {out / 'results.json'}")


@hyper_train_app.command("lstm")
def hyper_train_lstm(
    kind: str = typer.Option("hyper-lstm", help="hyper-lstm | ln-lstm | lstm"),
    text: Path = typer.Option(None, exists=True, dir_okay=False, help="UTF-8 text file (default: the stdlib docs)"),
    hidden: int = options.width(128, "main LSTM units"),
    hyper_hidden: int = options.width(32, "HyperLSTM units"),
    z_dim: int = options.width(4, "embedding size of the HyperLSTM's weight scalers"),
    match: str = typer.Option(None, help="size `hidden` to this kind's parameter count (e.g. hyper-lstm)"),
    steps: int = options.count(2000, "training steps"),
    seq_len: int = options.count(100, "characters per training sequence", 2),
    batch: int = options.count(32, "sequences per batch"),
    lr: float = options.real(2e-3, "Adam learning rate", above=0),
    seed: int = options.seed(),
    out: Path = typer.Option(None, dir_okay=False, help="model path (default runs/hyper-lstm/KIND); resumes"),
    device: str = options.device(),
) -> None:
    """A character-level language model (LSTM, layer-norm LSTM or HyperLSTM); prints validation bits/char."""
    from weightspace.data import load_text
    from weightspace.hyper import LMTraining, parameters_of
    from weightspace.progress import progress_bar
    from weightspace.recipes import LanguageModelConfig
    from weightspace.recipes import language_model_config as model_config
    from weightspace.recipes import run_language_model as run

    training = LMTraining(steps=steps, seq_len=seq_len, batch=batch, lr=lr, seed=seed)
    config = LanguageModelConfig(kind=kind, text=text, hidden=hidden, hyper_hidden=hyper_hidden, z_dim=z_dim,
                                 match=match, training=training)  # fmt: skip
    corpus = load_text(text)
    lm = model_config(config, corpus.vocab)
    out = (out or Path("runs/hyper-lstm") / kind).with_suffix("")
    console.print(f"{kind}: hidden {lm.hidden}, {parameters_of(lm):,} parameters; {corpus.summary()}")
    with progress_bar(console, transient=True) as bar:
        job = bar.add_task(kind, total=steps)

        def on_eval(row):
            bar.update(job, completed=row["step"], description=f"{kind} valid {row['valid_bpc']:.3f} bpc")

        result = run(config, out, device, on_eval)
    console.print(
        f"{kind}: valid {result['valid_bpc']:.3f} bpc, test {result['test_bpc']:.3f} bpc; saved {result['model']}"
    )


@hyper_train_app.command("generator")
def hyper_train_generator(
    zoo: Path = options.zoo_option("a one-vs-rest zoo (e.g. `zoo generate --preset digits-lenet5`)"),
    steps: int = options.count(600, "training steps"),
    components: int = options.count(256, "principal components of the aligned zoo (at most its size - 1)"),
    functional_weight: float = options.real(1.0, "weight of the task loss on real data (0: weights only)", low=0),
    per_class: int = options.count(20, "networks generated per task for the evaluation"),
    seed: int = options.seed(),
    out: Path = typer.Option(Path("runs/hyper-gen/generator"), dir_okay=False, help="model path; resumable"),
    device: str = options.device(),
) -> None:
    """A conditional generator of complete networks, trained on a zoo; evaluated against the zoo and random init."""
    from weightspace.hyper import GeneratorConfig
    from weightspace.progress import progress_bar
    from weightspace.recipes import GeneratorTrainingConfig
    from weightspace.recipes import run_zoo_generator as run

    generator = GeneratorConfig(steps=steps, components=components, functional_weight=functional_weight, seed=seed)
    config = GeneratorTrainingConfig(zoo=zoo, generator=generator, per_class=per_class, seed=seed)
    with progress_bar(console, transient=True) as bar:
        job = bar.add_task("generator", total=steps)

        def on_step(step, row):
            bar.update(job, completed=step, description=f"mmd {row['mmd']:.3f} task {row.get('task_loss', 0):.3f}")

        result = run(config, out, device, on_step)
    report, path = result["report"], Path(result["model"])
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
    model_path: Path = options.model_file("a generator saved by `hyper train generator`"),
    out: Path = options.out_dir(..., "directory for the generated zoo"),
    per_class: int = options.count(20, "networks per task"),
    seed: int = options.seed(),
) -> None:
    """Write generated networks as a Zoo (with their test metrics), readable by `zoo classify` and `encode`."""
    from weightspace.hyper import ZooGenerator
    from weightspace.recipes import write_generated

    generated = write_generated(ZooGenerator.load(model_path), out, per_class, seed)
    means = generated.table[["test_accuracy", "test_recall", "test_auc"]].mean()
    console.print(
        f"{generated!r}: mean test accuracy {means['test_accuracy']:.3f}, recall {means['test_recall']:.3f}, "
        f"AUC {means['test_auc']:.3f}"
    )


@hyper_app.command("eval")
def hyper_eval(
    model_path: Path = options.model_file("a language model saved by `hyper train lstm`"),
    text: Path = typer.Option(None, exists=True, dir_okay=False, help="its training text (default: the stdlib docs)"),
) -> None:
    """Bits per character of a trained language model on the held-out test text."""
    from weightspace.data import load_text
    from weightspace.hyper import CharLM, bits_per_char

    model, corpus = CharLM.load(model_path), load_text(text)
    if corpus.vocab != model.config.vocab:
        raise WeightspaceError("this text's characters differ from the model's vocabulary; pass the training text")
    console.print(f"{model.config.kind}: test {bits_per_char(model, corpus.test):.3f} bits/char")


@hyper_app.command("sample")
def hyper_sample(
    model_path: Path = options.model_file("a language model saved by `hyper train lstm`"),
    prime: str = typer.Option("The ", help="text to start from"),
    length: int = options.count(300, "characters to generate"),
    temperature: float = options.real(0.8, "sampling temperature", above=0, high=100),
    seed: int = options.seed(),
) -> None:
    """Generate text one character at a time."""
    from weightspace.hyper import CharLM

    console.print(CharLM.load(model_path).sample(prime, length, temperature, seed), highlight=False, markup=False)
