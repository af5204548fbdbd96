"""The `weightspace` command line: one small module per command group, each parsing its options, calling one
library function and printing the result."""

from weightspace.cli import commands  # noqa: E402,F401,I001 (registers every command on `app`)
from weightspace.cli.app import app, main

__all__ = ["app", "main"]
