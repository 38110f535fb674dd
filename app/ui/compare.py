"""The Compare tab: one question, both models' answers side by side with their reward breakdowns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.limits import LIMITS
from app.questions import build_question, parse_pasted_row, question_label
from app.service import SIDES, AppService
from app.ui.common import GENERATE, bar_update, load_samples, result_markdown, user_errors
from app.ui.highlight import TERM_COLORS, highlight_spans

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
        # Check everything before the slow part; show each answer as it comes, then both
        # scored (service.compare_steps).
        q = build_question(q_text, [a, b, c, d], gold_letter)
        yield [*side_values("base", None), *side_values("tuned", None)]
        for step in service.compare_steps(q, temp, max_new):
            yield [*side_values("base", step.get("base")), *side_values("tuned", step.get("tuned"))]

    def side_values(side: str, result: dict[str, Any] | None) -> list[Any]:
        if result is None or "total" not in result:  # not answered yet, or not scored yet
            state = "_generating…_" if result is None else "_scoring…_"
            text = None if result is None else highlight_spans(result["text"], [])
            return [f"### {side}: {labels[side]}\n\n{state}", text, None, None]
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
