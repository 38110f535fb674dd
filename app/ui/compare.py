"""The Compare tab: one question, both models' answers side by side with their reward breakdowns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.helpers import (
    LIMITS,
    TERM_COLORS,
    build_question,
    highlight_spans,
    parse_pasted_row,
    question_label,
)
from app.service import SIDES, AppService
from app.ui.common import GENERATE, bar_update, load_samples, result_markdown, user_errors

__all__ = ["compare_tab"]


def compare_tab(service: AppService) -> None:
    """Add the Compare tab and its handlers to the ``gr.Blocks`` being built."""
    import gradio as gr

    import mcq

    samples = load_samples()
    sample_choices = [(question_label(q), str(i)) for i, q in enumerate(samples)]
    labels = {side: service.models.label(side) for side in SIDES}

    with gr.Tab("Compare", id="compare"):
        with gr.Row():
            sample_dd = gr.Dropdown(
                sample_choices,
                value=None,
                label="Sample question",
                elem_id="compare-sample",
                scale=2,
            )
            pasted = gr.Textbox(
                label="…or paste a TSV row (question, A, B, C, D[, gold])",
                max_length=LIMITS.tsv_row_chars,
                elem_id="compare-paste",
                scale=2,
            )
            fill_btn = gr.Button("Fill from row", scale=0, min_width=120)
        question = gr.Textbox(
            label="Question",
            lines=2,
            max_length=LIMITS.question_chars,
            elem_id="compare-question",
        )
        options = []
        for pair in (("A", "B"), ("C", "D")):
            with gr.Row():
                for letter in pair:
                    options.append(
                        gr.Textbox(
                            label=f"Option {letter}",
                            max_length=LIMITS.option_chars,
                            elem_id=f"compare-option-{letter}",
                        )
                    )
        with gr.Row():
            gold = gr.Dropdown(
                ["", *mcq.LETTERS], value="", label="Gold answer (optional)", scale=1
            )
            temperature = gr.Slider(0.0, 1.5, value=0.0, step=0.05, label="Temperature")
            max_tokens = gr.Slider(
                16, LIMITS.max_new_tokens, value=256, step=16, label="Max new tokens"
            )
            compare_btn = gr.Button("Compare", variant="primary", elem_id="compare-button", scale=1)
        side_outputs: dict[str, list[Any]] = {}
        with gr.Row(equal_height=False):
            for side in SIDES:
                with gr.Column(elem_id=f"{side}-column"):
                    head = gr.Markdown(
                        f"### {side}: {labels[side]}",
                        elem_id=f"{side}-summary",
                        elem_classes="zl-answer-head",
                    )
                    text = gr.HighlightedText(
                        label=f"{side} answer · neutrality terms highlighted",
                        color_map=TERM_COLORS,
                        show_legend=True,
                        elem_id=f"{side}-answer",
                    )
                    plot = gr.BarPlot(
                        x="component",
                        y="score",
                        y_lim=[0, 1],
                        sort=None,
                        height=220,
                        label=f"{side} reward components",
                        elem_id=f"{side}-chart",
                    )
                    with gr.Accordion("details", open=False):
                        details = gr.JSON(label=f"{side} breakdown")
                    side_outputs[side] = [head, text, plot, details]

    def pick_sample(index: str | None) -> list[Any]:
        if index is None or not str(index).isdigit() or int(index) >= len(samples):
            return [gr.skip()] * 6
        q = samples[int(index)]
        gold_value = q.correct_answer if q.correct_answer in mcq.LETTERS else ""
        return [q.question, *(q.options[x] for x in mcq.LETTERS), gold_value]

    sample_dd.change(pick_sample, sample_dd, [question, *options, gold], api_visibility="private")

    @user_errors
    def fill_from_row(row: str) -> list[Any]:
        q = parse_pasted_row(row)
        return [q.question, *(q.options[x] for x in mcq.LETTERS), q.correct_answer or ""]

    fill_btn.click(fill_from_row, pasted, [question, *options, gold], api_visibility="private")

    @user_errors
    def compare_ui(q_text, a, b, c, d, gold_letter, temp, max_new) -> Iterator[list[Any]]:
        # Check everything before the slow part; show each answer as it comes, then score both
        # in one batch (one forward pass of a reward model, concurrent calls to a judge).
        q = build_question(q_text, [a, b, c, d], gold_letter)
        pending = {
            side: [f"### {side}: {labels[side]}\n\n_generating…_", None, None, None]
            for side in SIDES
        }
        yield [*pending["base"], *pending["tuned"]]
        answers = []
        for side in SIDES:
            answers.append(service.answer(side, q, temp, max_new))
            head = f"### {side}: {labels[side]}\n\n_scoring…_"
            pending[side] = [head, highlight_spans(answers[-1]["text"], []), None, None]
            yield [*pending["base"], *pending["tuned"]]
        for side, result in zip(SIDES, service.score_answers(q, answers), strict=True):
            pending[side] = side_values(side, result)
        yield [*pending["base"], *pending["tuned"]]

    def side_values(side: str, result: dict[str, Any]) -> list[Any]:
        return [
            result_markdown(result, f"{side}: {labels[side]}"),
            highlight_spans(result["text"], result["terms"]),
            bar_update(result["components"]),
            {k: v for k, v in result.items() if k != "text"},
        ]

    compare_btn.click(
        compare_ui,
        [question, *options, gold, temperature, max_tokens],
        [*side_outputs["base"], *side_outputs["tuned"]],
        api_visibility="private",
        concurrency_id=GENERATE,
    )
