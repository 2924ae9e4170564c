"""The README's screenshots of the widget (docs/widget-desktop.png, docs/widget-phone.png).

Starts the action server, Rasa and the web app on the given ports with a scratch database of demo
dossiers, asks a question in Debian's chromium (headless, through Playwright), and saves the two
pictures. Run from the repository root:

    PYTHONPATH=$PWD .venv/bin/python scripts/web_screenshots.py --rasa-port 7205 --actions-port 7255 --web-port 7280
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from trolydvc.config import ROOT
from trolydvc.serve.scratch import scratch_servers

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
QUESTION = "làm giấy khai sinh cần giấy tờ gì"


def shoot(url: str, out: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, viewport, scale in (
            ("widget-desktop.png", {"width": 1100, "height": 720}, 1),
            ("widget-phone.png", {"width": 360, "height": 740}, 1),
        ):
            context = browser.new_context(viewport=viewport, device_scale_factor=scale)
            page = context.new_page()
            page.goto(url)
            widget = page.locator("#trolydvc-widget")
            widget.locator(".bubble").click()
            widget.locator("input").fill(QUESTION)
            widget.locator("input").press("Enter")
            expect(widget.locator(".msg.bot:not(.welcome)").first).to_be_visible(timeout=60_000)
            expect(widget.locator(".send")).to_be_enabled(timeout=60_000)
            page.screenshot(path=str(out / name))
            context.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--actions-port", type=int, default=5055)
    parser.add_argument("--web-port", type=int, default=8000)
    args = parser.parse_args()
    with scratch_servers(args.rasa_port, args.actions_port, args.web_port) as servers:
        shoot(f"{servers.web_url}/", ROOT / "docs")


if __name__ == "__main__":
    main()
