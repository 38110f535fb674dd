"""What the app bounds beyond the per-field limits: errors shown as one line, model output that
fetches nothing, and scored files that do not outlive the app.

The browser test serves the app's own Chatbot (``app.ui.chat_box`` + ``chat_display``) from a
small Gradio page and watches every request headless Chromium makes; the shutdown test starts
`python -m app` with its own temp folder and stops it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from app.process import free_port, running_app
from app.uploads import SCORED_PREFIX, remove_stale_scored

CHROMIUM = "/usr/bin/chromium"
#: Nothing listens on port 9 (discard): a fetch there is the only thing that could reveal one.
REMOTE = "http://127.0.0.1:9/"


def test_stale_scored_folders_are_removed_and_fresh_ones_kept(tmp_path):
    stale, fresh = tmp_path / f"{SCORED_PREFIX}old", tmp_path / f"{SCORED_PREFIX}new"
    other = tmp_path / "someone-else-old"
    for folder in (stale, fresh, other):
        folder.mkdir()
        (folder / "x.scored.csv").write_text("id,total\n", "utf-8")
    two_hours_ago = time.time() - 7200
    for folder in (stale, other):
        os.utime(folder, (two_hours_ago, two_hours_ago))
    assert remove_stale_scored(tmp_path, max_age_s=3600) == 1
    assert not stale.exists()
    assert fresh.exists() and other.exists()


def test_an_unexpected_generation_error_reaches_the_visitor_as_one_line():
    import gradio as gr

    from app.ui import user_errors

    @user_errors
    def streaming_handler():
        yield "partial"
        raise RuntimeError("engine failed: prompt of 5000 tokens\nTraceback (most recent call)")

    stream = streaming_handler()
    assert next(stream) == "partial"
    with pytest.raises(gr.Error) as info:
        next(stream)
    message = info.value.message
    assert "RuntimeError: engine failed: prompt of 5000 tokens" in message
    assert "\n" not in message and "upstream" not in message


@pytest.mark.slow
def test_a_chat_reply_naming_remote_images_makes_the_browser_fetch_nothing():
    import gradio as gr
    from playwright.sync_api import sync_playwright

    from app.ui import chat_box, chat_display

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: run `make system-deps` (installs Debian's chromium)")
    reply = f"圖一 <img src={REMOTE}html.png> 圖二 ![x]({REMOTE}markdown.png) 完"
    turns = [{"role": "user", "content": "給我看圖"}, {"role": "assistant", "content": reply}]
    with gr.Blocks(analytics_enabled=False) as page_app:
        chat_box(value=chat_display(turns), elem_id="chatbot")
    port = free_port()
    page_app.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        ssr_mode=False,
    )
    requested: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page()
                page.on("request", lambda request: requested.append(request.url))
                page.goto(f"http://127.0.0.1:{port}/")
                page.locator("#chatbot").get_by_text("完").first.wait_for(timeout=60_000)
                page.wait_for_timeout(1_000)  # let any image load start
                shown = page.locator("#chatbot").inner_text()
            finally:
                browser.close()
    finally:
        page_app.close()
    assert not [url for url in requested if url.startswith(REMOTE)]
    assert f"<img src={REMOTE}html.png>" in shown  # the tag reads as text
    assert f"({REMOTE}markdown.png)" in shown


@pytest.mark.slow
def test_scored_files_are_removed_when_the_app_stops(tmp_path):
    from gradio_client import Client, handle_file

    temp = tmp_path / "tmp"
    temp.mkdir()
    src = tmp_path / "completions.jsonl"
    src.write_text(json.dumps({"id": "a", "completion": "答案：A"}) + "\n", "utf-8")
    try:
        with running_app(
            ["--backend", "transformers"],
            log_path=tmp_path / "app.log",
            timeout=180,
            env={"TMPDIR": str(temp)},
        ) as url:
            client = Client(url, verbose=False, analytics_enabled=False)
            client.predict(handle_file(src), "default", api_name="/score_file")
            assert list(temp.glob(f"{SCORED_PREFIX}*"))
    except RuntimeError as err:
        pytest.fail(str(err))
    assert not list(temp.glob(f"{SCORED_PREFIX}*"))


@pytest.mark.parametrize("seconds", ["0", "-5", "nan"])
def test_a_request_timeout_that_is_not_positive_is_refused_in_one_line(seconds, capsys):
    from app.cli import main

    assert main(["--request-timeout", seconds]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--request-timeout" in err and "positive" in err
