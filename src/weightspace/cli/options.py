"""Options every command group shares, each validated when the command line is parsed: a bad value is refused
in one line before anything runs or is written."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer

from weightspace.errors import WeightspaceError

SEED_MAX = 2**32 - 1


def seed(default: int = 0, help: str = "random seed (0 .. 2^32-1); the same seed gives the same result") -> Any:
    return typer.Option(default, min=0, max=SEED_MAX, help=help)


MAX_COUNT = 100_000_000  # no count of anything (epochs, steps, networks) is larger
MAX_WIDTH = 8192  # a model's width, embedding size or depth


def count(default: Any, help: str, minimum: int = 1, maximum: int = MAX_COUNT, *names: str) -> Any:
    """A whole number of things (epochs, steps, networks, workers), in [minimum, maximum]."""
    return typer.Option(default, *names, min=minimum, max=maximum, help=help)


def width(default: Any, help: str) -> Any:
    """A width, embedding size or number of layers of a model: 1 .. MAX_WIDTH, so it cannot ask for more memory
    than a machine has before the model is even built."""
    return typer.Option(default, min=1, max=MAX_WIDTH, help=help)


def real(default: Any, help: str, low: float | None = None, high: float | None = None, above: float | None = None):
    """A finite number in [low, high] (and > above): NaN and infinity are refused."""

    def check(value: float | None) -> float | None:
        if value is None:
            return value
        if not math.isfinite(value):
            raise typer.BadParameter(f"{value} is not a finite number")
        if low is not None and value < low:
            raise typer.BadParameter(f"{value} is below the minimum {low}")
        if high is not None and value > high:
            raise typer.BadParameter(f"{value} is above the maximum {high}")
        if above is not None and value <= above:
            raise typer.BadParameter(f"{value} must be greater than {above}")
        return value

    return typer.Option(default, help=help, callback=check)


def _device(value: str) -> str:
    from weightspace.device import check_device

    try:
        return check_device(value)
    except WeightspaceError as err:
        raise typer.BadParameter(str(err)) from None


def device() -> Any:
    return typer.Option("cpu", help="cpu, cuda or cuda:N (checked before anything runs)", callback=_device)


IMAGE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def _image(value: Path | None) -> Path | None:
    if value is not None and value.suffix.lower() not in IMAGE_SUFFIXES:
        raise typer.BadParameter(f"{value} must end in one of {', '.join(IMAGE_SUFFIXES)}")
    return value


def image_file(default: Any, help: str, *names: str) -> Any:
    """A picture to write (.png, .pdf, .svg, .jpg): another suffix is refused before anything runs."""
    return typer.Option(default, *names, dir_okay=False, help=help, callback=_image)


def _plain(value: str | None) -> str | None:
    from weightspace.limits import plain_name

    try:
        return None if value is None else plain_name(value, "the name")
    except WeightspaceError as err:
        raise typer.BadParameter(str(err)) from None


def name(help: str) -> Any:
    """A file name chosen by the user: a plain name (no separators, no '..'), so it stays in its folder."""
    return typer.Option(None, help=help, callback=_plain)


def out_dir(default: Path | Any, help: str) -> Any:
    """A directory to write into: refused if it is an existing file."""
    return typer.Option(default, "--out", file_okay=False, help=help)


def out_file(default: Path | Any, help: str) -> Any:
    """A file to write: refused if it is an existing directory."""
    return typer.Option(default, "--out", dir_okay=False, help=help)


def zoo_dir(help: str = "zoo directory") -> Any:
    """An existing zoo directory, as the argument of a command."""
    return typer.Argument(..., exists=True, file_okay=False, help=help)


def zoo_option(help: str) -> Any:
    return typer.Option(..., "--zoo", exists=True, file_okay=False, help=help)


def model_file(help: str) -> Any:
    """A saved model, given with or without its .safetensors suffix (its loader says when none is there)."""
    return typer.Argument(..., dir_okay=False, help=help)
