"""Screenshot a report page with headless Chromium (the README's picture of the demo report).

python scripts/report_screenshot.py runs/demo/zoo/report.html docs/img/report-demo.png [--height 1500]
"""

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

parser = argparse.ArgumentParser()
parser.add_argument("page", type=Path)
parser.add_argument("png", type=Path)
parser.add_argument("--height", type=int, default=1500, help="pixels of the page's top to keep (0: the whole page)")
args = parser.parse_args()
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1280, "height": args.height or 900})
    page.goto(args.page.resolve().as_uri())
    page.screenshot(path=str(args.png), full_page=args.height == 0)
    browser.close()
print(args.png)
