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

from app.process import running_app
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
  python -m app.screenshot --sample 3 --out /tmp/compare.png --backend vllm
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
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.stem + ".tmp.png")
            page.screenshot(path=tmp, full_page=True)
            tmp.replace(out)
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.screenshot",
        description="Screenshot the Compare tab answering a sample question with the demo models.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="PNG to write")
    parser.add_argument(
        "--sample", type=int, default=12, help="sample question index (default 12: q013)"
    )
    parser.add_argument("--url", default=None, help="use this running app instead of starting one")
    parser.add_argument(
        "--backend", default="transformers", choices=("auto", "vllm", "transformers")
    )
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"app.screenshot: {CHROMIUM} not found; run `make system-deps`", file=sys.stderr)
        return 2
    if args.url:
        capture_compare(args.url, args.out, args.sample)
    else:
        log = Path(tempfile.mkdtemp(prefix="zhongli-shot-")) / "app.log"
        try:
            with running_app(["--backend", args.backend], log_path=log) as url:
                capture_compare(url, args.out, args.sample)
        except RuntimeError as err:
            print(f"app.screenshot: {str(err).splitlines()[0]} (log: {log})", file=sys.stderr)
            return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
