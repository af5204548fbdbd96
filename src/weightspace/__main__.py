"""`python -m weightspace` is the `weightspace` command."""

from weightspace.cli import main

main()
