"""``python -m app.screenshot``: the README's picture of the Compare tab, made from the demo models.

Starts the app (or uses ``--url``), picks a sample question in headless Chromium, runs the
comparison and saves a PNG of the page. Needs Debian's ``chromium`` and a CJK font
(``make system-deps``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from app.process import running_app
from mcq.cli import command_parser, run_command
from mcq.errors import UsageError
from mcq.files import write_atomic
from mcq.paths import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DEFAULT_OUT = REPO_ROOT / "docs" / "screenshots" / "compare.png"

EPILOG = """\
example:
  python -m app.screenshot                         # writes docs/screenshots/compare.png
  python -m app.screenshot --sample 3 --output /tmp/compare.png --backend vllm
"""


def capture_compare(url: str, out: Path, sample: int = 0, timeout_ms: int = 120_000) -> None:
    """Open ``url``, choose sample question ``sample``, compare, and save the page to ``out``."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            page.locator("#compare-sample input").click()
            page.locator("ul[role='listbox'] li").nth(sample).click()
            expect(page.locator("#compare-question textarea")).not_to_have_value("")
            page.locator("#compare-button").click()
            for side in ("base", "tuned"):
                expect(page.locator(f"#{side}-summary")).to_contain_text(
                    "total", timeout=timeout_ms
                )
            page.wait_for_timeout(800)  # let the bar charts finish drawing
            write_atomic(out, page.screenshot(full_page=True))
        finally:
            browser.close()


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``python -m app.screenshot`` parser (stand-alone when ``subparsers`` is None).

    Example:
        >>> make_parser().parse_args(["--out", "a.png"]).output  # the old spelling still works
        PosixPath('a.png')
    """
    parser = command_parser(
        subparsers,
        "screenshot",
        help="Screenshot the Compare tab answering a sample question with the demo models.",
        epilog=EPILOG,
        prog="python -m app.screenshot",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--output", type=Path, default=DEFAULT_OUT, help="PNG to write")
    group.add_argument("--out", dest="output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--sample", type=int, default=12, help="sample question index (default 12: q013)"
    )
    parser.add_argument("--url", default=None, help="use this running app instead of starting one")
    parser.add_argument(
        "--backend", default="transformers", choices=("auto", "vllm", "transformers")
    )
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Start the app (unless ``--url``), take the screenshot, write ``--output``."""
    if not Path(CHROMIUM).exists():
        raise UsageError(f"{CHROMIUM} not found; run `make system-deps`")
    if args.url:
        capture_compare(args.url, args.output, args.sample)
    else:
        log = Path(tempfile.mkdtemp(prefix="zhongli-shot-")) / "app.log"
        try:
            with running_app(["--backend", args.backend], log_path=log) as url:
                capture_compare(url, args.output, args.sample)
        except RuntimeError as err:
            print(f"app.screenshot: {str(err).splitlines()[0]} (log: {log})", file=sys.stderr)
            return 1
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, make_parser().parse_args(), prog="python -m app.screenshot"))
