"""The `weightspace` command: its sub-command groups and the entry point that turns every user error into one
line on stderr and exit status 2."""

from __future__ import annotations

import os
import sys

import typer
from pydantic import ValidationError
from rich.console import Console

from weightspace.device import usable_cores
from weightspace.errors import WeightspaceError
from weightspace.fileio import disk_full

app = typer.Typer(
    help="weightspace: trained neural networks as data (zoos, encoders, hypernetworks, Net2Net, SWAT-NN).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def threads_option(
    threads: int = typer.Option(
        None, "--threads", min=1, help="CPU threads for torch in this command (default: the cores this process may use)"
    ),
) -> None:
    """Set torch's CPU thread count deliberately: on a shared machine idle OpenMP threads spinning against other
    load make identical runs vary many-fold, so pass --threads 1 there. zoo generate runs each shard with its
    config's threads (1) whatever this says."""
    count = threads or usable_cores()
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(count)  # read when torch is imported
    if "torch" in sys.modules:  # already imported (a caller running the CLI in-process)
        sys.modules["torch"].set_num_threads(count)


def group(name: str, help: str, parent: typer.Typer = app) -> typer.Typer:
    sub = typer.Typer(help=help, no_args_is_help=True)
    parent.add_typer(sub, name=name)
    return sub


nets_app = group("nets", "Architectures and single networks.")
zoo_app = group("zoo", "Model zoos: generate, inspect, verify, classify, import, export.")
grow_app = group("grow", "Net2Net: grow a trained network wider or deeper, same function.")
encode_app = group("encode", "Encode networks from their weights (SNE and baselines); predict properties.")
hyper_app = group("hyper", "Hypernetworks: static (CNN kernels), HyperLSTM, zoo generators.")
hyper_train_app = group("train", "Train a hypernetwork experiment (resumable).", hyper_app)
swat_app = group("swat", "SWAT-NN: a latent space of MLP architectures + weights, searched.")
swat_train_app = group("train", "Train SWAT-NN's models (resumable).", swat_app)
console = Console()

# Errors a user can cause from the command line. Anything else is a bug and keeps its traceback.
USER_ERRORS = (
    WeightspaceError,
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, then exit: the contract of every user error."""
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command; user errors print one clear line (exit 2) instead of a traceback."""

    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="weightspace", standalone_mode=False)
    except typer.TyperException as err:  # a usage error, or a group called bare (its help is the message)
        if type(err).__name__ == "NoArgsIsHelpError":  # typer exports no name for it
            print(err.format_message())
            sys.exit(0)
        ctx = getattr(err, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        fail(f"{where}{err.format_message()} (see --help)")
    except typer.Abort:
        fail("aborted", 130)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except ValidationError as err:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        fail(f"invalid {err.title}: {details}")
    except USER_ERRORS as err:
        fail(str(err))
    except OSError as err:
        if not disk_full(err):
            raise
        fail(f"no space left on the device ({err.filename or err}); free some space and rerun with --resume")
    sys.exit(code if isinstance(code, int) else 0)
