"""Importing this module registers every command group on the app."""

from weightspace.cli import demo, encode, grow, hyper, info, nets, report, run, swat, zoo  # noqa: F401
