"""The documentation site: every public name documented, `mkdocs build --strict` green (a broken link, a bad
cross-reference or a missing page fails it), and the built site opened in a browser."""

from __future__ import annotations

import functools
import http.server
import importlib
import inspect
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.report.test_report import chromium

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["nets", "data", "train", "zoo", "encode", "hyper", "grow", "swat", "report"]


def test_every_public_name_has_its_own_docstring():
    undocumented = []
    for package in PACKAGES:
        module = importlib.import_module(f"weightspace.{package}")
        assert module.__doc__, package
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            own = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
            if not (own or "").strip():
                undocumented.append(f"weightspace.{package}.{name}")
    assert undocumented == []


def test_every_package_has_a_reference_page_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for package in PACKAGES:
        page = ROOT / "docs" / "reference" / f"{package}.md"
        assert f"::: weightspace.{package}" in page.read_text()
        assert f"reference/{package}.md" in nav


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = os.environ | {"NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_site_builds_strictly_with_guides_results_and_references(site):
    for page in ["index", "guides/zoo", "results/encode", "zoo-format", "reference/cli", "reference/nets"]:
        assert (site / f"{page}.html").is_file(), page
    cli = (site / "reference/cli.html").read_text()
    assert "weightspace zoo generate" in cli and "--resume" in cli
    assert (site / "benchmarks/results/encode_wild.json").is_file()  # results pages link to their files


def test_the_site_opens_in_a_browser_with_no_error_and_no_request_out(site):
    executable = chromium()
    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    errors, requests = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{base}/index.html")
            title = page.locator("article h1").inner_text()
            nav = page.locator("nav.md-nav--primary").inner_text()
            page.goto(f"{base}/reference/nets.html")
            net_heading = page.locator('[id="weightspace.nets.Net"]').count()
            api_text = page.locator("article").inner_text()
            browser.close()
    finally:
        server.shutdown()
    assert title.startswith("Getting started")
    assert all(section in nav for section in ["Guides", "Results", "Reference"])
    assert net_heading == 1 and "count_parameters" in api_text
    assert errors == []
    assert all(url.startswith((base, "data:")) for url in requests), requests
