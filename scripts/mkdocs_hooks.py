"""MkDocs hooks for the documentation site (`make docs`).

- The stored result files (`benchmarks/results/`) are served beside the pages, so a results page links to the file
  its table came from; a page writes the link as the repository path (`../../benchmarks/results/x.json`), which
  reads right on a code host, and the link is pointed at the served copy here.
- The command-line reference is generated from the `weightspace` command itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
RESULTS = "benchmarks/results"
LINK = re.compile(r"(\]\()([^)\s]+)(\))")


class ResultFile(File):
    """A stored result copied as it is, never rendered (its .md files are tables, not pages)."""

    def is_documentation_page(self) -> bool:
        return False


def on_files(files, config):
    for path in sorted((ROOT / RESULTS).rglob("*")):
        if path.is_file():
            rel = path.relative_to(ROOT).as_posix()
            files.append(ResultFile(rel, src_dir=str(ROOT), dest_dir=config["site_dir"], use_directory_urls=False))
    return files


def on_page_markdown(markdown, page, config, files):
    page_dir = (Path(config["docs_dir"]) / page.file.src_uri).parent

    def to_served(match: re.Match) -> str:
        target = match.group(2)
        if "://" in target or target.startswith("#"):
            return match.group(0)
        path, _, anchor = target.partition("#")
        repo_path = (page_dir / path).resolve()
        if not repo_path.is_relative_to(ROOT / RESULTS):
            return match.group(0)
        served = os.path.relpath(repo_path.relative_to(ROOT), Path(page.file.src_uri).parent).replace(os.sep, "/")
        return f"{match.group(1)}{served}{'#' + anchor if anchor else ''}{match.group(3)}"

    markdown = LINK.sub(to_served, markdown)
    if page.file.src_uri == "reference/cli.md":
        markdown = markdown.replace("<!-- commands -->", cli_reference())
    return markdown


def cli_reference() -> str:
    import typer

    from weightspace.cli import app

    root = typer.main.get_command(app)
    return "\n".join(_command_doc(root, "weightspace"))


def _command_doc(command, path: str) -> list[str]:
    lines = []
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            if not sub.hidden:
                lines += _command_doc(sub, f"{path} {name}")
        return lines
    lines += [f"## `{path}`", "", _text(command.help or ""), ""]
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    options = [p for p in command.params if p.param_type_name == "option" and not p.hidden and p.name != "help"]
    if arguments:
        lines += ["| argument | help |", "|---|---|"]
        lines += [f"| `{p.name.upper()}` | {_cell(getattr(p, 'help', '') or '')} |" for p in arguments]
        lines.append("")
    if options:
        lines += ["| option | help | default |", "|---|---|---|"]
        for p in options:
            names = " / ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
            default = "required" if p.required else ("" if p.default in (None, False, ()) else f"`{p.default}`")
            lines.append(f"| {names} | {_cell(p.help or '')} | {default} |")
        lines.append("")
    return lines


def _text(help_text: str) -> str:
    return " ".join(help_text.split())


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|")
