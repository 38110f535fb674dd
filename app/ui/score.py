"""The Score tab: the reward breakdown of any pasted text, and of an uploaded file of completions.

Its "Score file" button is also the named API endpoint ``score_file``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.limits import LIMITS
from app.service import AppService
from app.ui.common import bar_update, result_markdown, user_errors
from app.ui.highlight import TERM_COLORS, highlight_spans
from mcq.errors import UsageError

__all__ = ["score_tab"]


def score_tab(service: AppService) -> None:
    """Add the Score tab and its handlers to the ``gr.Blocks`` being built."""
    import gradio as gr

    import mcq

    presets = service.preset_names()

    with gr.Tab("Score", id="score"):
        with gr.Row(equal_height=False):
            with gr.Column():
                completion = gr.Textbox(
                    label="Completion to score",
                    lines=6,
                    max_length=LIMITS.completion_chars,
                    elem_id="score-completion",
                )
                with gr.Accordion("Question and gold answer (optional)", open=False):
                    score_question = gr.Textbox(
                        label="Question", lines=2, max_length=LIMITS.question_chars
                    )
                    score_options = [
                        gr.Textbox(label=f"Option {x}", max_length=LIMITS.option_chars)
                        for x in mcq.LETTERS
                    ]
                    score_gold = gr.Dropdown(["", *mcq.LETTERS], value="", label="Gold")
                score_preset = gr.Dropdown(
                    presets, value=service.preset.name, label="Reward preset"
                )
                score_btn = gr.Button("Score", variant="primary")
            with gr.Column():
                score_summary = gr.Markdown()
                score_text = gr.HighlightedText(
                    label="neutrality terms", color_map=TERM_COLORS, show_legend=True
                )
                score_plot = gr.BarPlot(
                    x="component", y="score", y_lim=[0, 1], height=200, label="components"
                )
                with gr.Accordion("details", open=False):
                    score_details = gr.JSON(label="breakdown")
        gr.Markdown(
            "### Score a file\nCSV/TSV with a `completion` (or `response`) column, or "
            "JSONL with `completion` (and optional `id`, `question`, `options`, "
            f"`correct_answer`). Up to {LIMITS.upload_bytes // (1024 * 1024)} MB, "
            f"{LIMITS.upload_rows:,} rows."
        )
        with gr.Row(equal_height=False):
            upload = gr.File(
                label="Completions file",
                file_types=[".csv", ".tsv", ".jsonl"],
                type="filepath",
            )
            with gr.Column():
                file_btn = gr.Button("Score file", variant="primary")
                scored_file = gr.File(label="Scored file", interactive=False)
        file_summary = gr.JSON(label="Summary")

    @user_errors
    def score_ui(text, q_text, a, b, c, d, gold_letter, preset) -> list[Any]:
        result = service.score_text(text, q_text, [a, b, c, d], gold_letter, preset)
        return [
            result_markdown(result),
            highlight_spans(result["completion"], result["terms"]),
            bar_update(result["components"]),
            {k: v for k, v in result.items() if k != "completion"},
        ]

    score_btn.click(
        score_ui,
        [completion, score_question, *score_options, score_gold, score_preset],
        [score_summary, score_text, score_plot, score_details],
        api_visibility="private",
    )

    @user_errors
    def score_file(path: str | None, preset: str | None = None) -> tuple[str, dict]:
        """Score an uploaded CSV/TSV/JSONL of completions; returns the scored file and a summary."""
        if not path:
            raise UsageError("upload a CSV, TSV or JSONL file first")
        result = service.score_file(Path(path), preset)
        return result["path"], {**result["summary"], "preview": result["preview"]}

    file_btn.click(
        score_file, [upload, score_preset], [scored_file, file_summary], api_name="score_file"
    )
