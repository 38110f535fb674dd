"""The Gradio page: Compare, Chat and Score tabs, plus the named API endpoints.

``build_app(service)`` returns a ``gr.Blocks``; ``app.cli`` loads the models, builds it and
launches it. The UI handlers and the API endpoints (``chat``, ``compare``, ``score``,
``score_file``, ``info``) all call the same :class:`app.service.AppService` methods.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import inspect
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from app.helpers import (
    LIMITS,
    TERM_COLORS,
    InputError,
    build_question,
    component_rows,
    error_line,
    highlight_spans,
    inert_markdown,
    limit_notes,
    parse_pasted_row,
    question_label,
    split_turns,
)
from app.service import SAMPLE_GOLD, SAMPLE_TEST, SAMPLE_TRAIN, SIDES, AppService

#: Events that run a model share one concurrency group: at most ``--concurrency`` at once.
GENERATE = "generate"

_CSS = """
.zl-status {font-size: 0.9em; opacity: 0.8}
.zl-answer-head h3 {margin-bottom: 0.2em}
"""


_LOG = logging.getLogger("app")


def visible_error(err: Exception) -> Exception:
    """The ``gr.Error`` a visitor sees for ``err``: an :class:`InputError`'s own line, or one
    line naming an unexpected failure (its traceback goes to the server log), never Gradio's
    generic "upstream app has raised an exception"."""
    import gradio as gr

    if isinstance(err, gr.Error):
        return err
    if isinstance(err, InputError):
        return gr.Error(str(err), print_exception=False)
    _LOG.error("request failed", exc_info=err)
    return gr.Error(error_line(err), print_exception=False)


def user_errors(fn: Callable) -> Callable:
    """Turn every exception of a handler into a one-line ``gr.Error`` (see :func:`visible_error`)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(*args, **kwargs)
            except Exception as err:
                raise visible_error(err) from None

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            raise visible_error(err) from None

    return wrapper


def load_samples() -> list[Any]:
    """Sample questions for the Compare tab's dropdown, with gold letters where they are known.

    Reads ``assets/data/sample_test.tsv`` and joins ``sample_test_gold.csv`` (``id,
    correct_answer``) when it is there; falls back to the train sample, which carries gold.
    """
    import mcq

    try:
        questions = mcq.load_test(SAMPLE_TEST, skip_invalid=True)
    except mcq.DataError:
        try:
            return mcq.load_train(SAMPLE_TRAIN, skip_invalid=True)
        except mcq.DataError:
            return []
    gold = _gold_letters(SAMPLE_GOLD)
    return [
        q
        if q.correct_answer or q.id not in gold
        else dataclasses.replace(q, correct_answer=gold[q.id])
        for q in questions
    ]


def _gold_letters(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {
            str(row.get("id", "")).strip(): str(row.get("correct_answer", "")).strip().upper()
            for row in csv.DictReader(fh)
            if str(row.get("correct_answer", "")).strip().upper() in ("A", "B", "C", "D")
        }


def bar_frame(components: dict[str, float | None]) -> Any:
    """A pandas DataFrame ``component, score`` for ``gr.BarPlot`` (n/a components left out)."""
    import pandas as pd

    return pd.DataFrame(component_rows(components), columns=["component", "score"])


def bar_update(components: dict[str, float | None]) -> Any:
    """A ``gr.BarPlot`` update showing the components in the preset's order."""
    import gradio as gr

    frame = bar_frame(components)
    return gr.update(value=frame, sort=list(frame["component"]))


def result_markdown(result: dict[str, Any], title: str | None = None) -> str:
    """A short Markdown summary of one breakdown: letter, correctness, total, components."""
    letter = result.get("answer") or "—"
    lines = [f"### {title}"] if title else []
    verdict = ""  # words, not emoji: the page must read the same without an emoji font
    if result.get("correct") is True:
        verdict = " · **correct**"
    elif result.get("correct") is False:
        verdict = " · **wrong**"
    lines.append(
        f"**Answer: {letter}**{verdict} · rule `{result.get('answer_rule')}` · "
        f"**total {result['total']:.3f}**"
    )
    if result.get("prompt_truncated"):
        from mcq import CUT_MARK

        lines.append(
            f"_Note: the question was too long for the model's context; its middle was left out "
            f"(marked {CUT_MARK}) before the model read it._"
        )
    lines.extend(f"_Note: {note}_" for note in result.get("notes") or [])
    parts = [
        f"{name} {'n/a' if score is None else f'{score:.2f}'}"
        for name, score in result["components"].items()
    ]
    lines.append(" · ".join(parts))
    terms = result.get("terms") or []
    shown = "none"
    if terms:
        shown = ", ".join(
            f"{t['term']} ({t['category']}"
            + (f", negated → {t.get('effect') or '?'})" if t.get("negated") else ")")
            for t in terms[:12]
        )
    lines.append(f"Neutrality terms: {shown}")
    if "seconds" in result:
        lines.append(f"<small>generated in {result['seconds']:.1f} s</small>")
    return "\n\n".join(lines)


def chat_box(**kwargs: Any) -> Any:
    """The Chat tab's ``gr.Chatbot``: Markdown on, every HTML tag dropped by the sanitizer."""
    import gradio as gr

    return gr.Chatbot(sanitize_html=True, allow_tags=False, **kwargs)


def chat_display(turns: list[dict[str, str]]) -> list[dict[str, str]]:
    """Chat turns as the Chatbot shows them: text inert (see :func:`app.helpers.inert_markdown`),
    so no reply makes the visitor's browser fetch anything."""
    return [{"role": t["role"], "content": inert_markdown(t["content"])} for t in turns]


def build_app(service: AppService) -> Any:
    """Build the page and the API for a loaded ``service``; returns an unlaunched ``gr.Blocks``."""
    import gradio as gr

    import mcq

    samples = load_samples()
    sample_choices = [(question_label(q), str(i)) for i, q in enumerate(samples)]
    labels = {side: service.models.label(side) for side in SIDES}
    presets = service.preset_names()

    with gr.Blocks(
        title="zhongli · 中立", analytics_enabled=False, delete_cache=(3600, 3600)
    ) as demo:
        gr.Markdown(
            "# zhongli · 中立\nChat with the base and the tuned model, compare their answers to "
            "a multiple-choice question with every reward component shown, or score any text."
        )
        gr.Markdown(f"Ready — {service.status_line()}", elem_id="status", elem_classes="zl-status")

        with gr.Tabs():
            # ------------------------------------------------------------ Compare
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
                    compare_btn = gr.Button(
                        "Compare", variant="primary", elem_id="compare-button", scale=1
                    )
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

            # ------------------------------------------------------------ Chat
            with gr.Tab("Chat", id="chat"):
                with gr.Row():
                    chat_side = gr.Radio(
                        [
                            (f"base · {labels['base']}", "base"),
                            (f"tuned · {labels['tuned']}", "tuned"),
                        ],
                        value="tuned",
                        label="Model",
                        elem_id="chat-model",
                    )
                chatbot = chat_box(label="Conversation", height=380, elem_id="chatbot")
                chat_note = gr.Markdown(elem_id="chat-note")
                history = gr.State([])
                with gr.Row():
                    message = gr.Textbox(
                        placeholder="Ask something…",
                        show_label=False,
                        max_length=LIMITS.message_chars,
                        scale=5,
                        elem_id="chat-message",
                    )
                    send_btn = gr.Button("Send", variant="primary", scale=1)
                    clear_btn = gr.Button("Clear", scale=1)
                with gr.Accordion("Generation settings", open=False):
                    system_prompt = gr.Textbox(
                        service.prompt.system or "",
                        label="System prompt",
                        lines=3,
                        max_length=LIMITS.system_prompt_chars,
                    )
                    with gr.Row():
                        chat_temperature = gr.Slider(
                            0.0, 1.5, value=0.7, step=0.05, label="Temperature"
                        )
                        chat_max_tokens = gr.Slider(
                            16, LIMITS.max_new_tokens, value=256, step=16, label="Max new tokens"
                        )
                breakdown_btn = gr.Button("Show reward breakdown of the last reply")
                with gr.Column(visible=False) as breakdown_col:
                    chat_summary = gr.Markdown()
                    chat_text = gr.HighlightedText(
                        label="last reply · neutrality terms highlighted",
                        color_map=TERM_COLORS,
                        show_legend=True,
                    )
                    chat_plot = gr.BarPlot(
                        x="component", y="score", y_lim=[0, 1], height=200, label="components"
                    )

            # ------------------------------------------------------------ Score
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

        # ---------------------------------------------------------------- Compare handlers
        def pick_sample(index: str | None) -> list[Any]:
            if index is None or not str(index).isdigit() or int(index) >= len(samples):
                return [gr.skip()] * 6
            q = samples[int(index)]
            gold_value = q.correct_answer if q.correct_answer in mcq.LETTERS else ""
            return [q.question, *(q.options[x] for x in mcq.LETTERS), gold_value]

        sample_dd.change(
            pick_sample, sample_dd, [question, *options, gold], api_visibility="private"
        )

        @user_errors
        def fill_from_row(row: str) -> list[Any]:
            q = parse_pasted_row(row)
            return [q.question, *(q.options[x] for x in mcq.LETTERS), q.correct_answer or ""]

        fill_btn.click(fill_from_row, pasted, [question, *options, gold], api_visibility="private")

        @user_errors
        def compare_ui(q_text, a, b, c, d, gold_letter, temp, max_new) -> Iterator[list[Any]]:
            # Check everything before the slow part, then fill in one side at a time.
            build_question(q_text, [a, b, c, d], gold_letter)
            pending = {
                side: [f"### {side}: {labels[side]}\n\n_generating…_", None, None, None]
                for side in SIDES
            }
            yield [*pending["base"], *pending["tuned"]]
            for side in SIDES:
                result = service.compare_side(
                    side, q_text, [a, b, c, d], gold_letter, temp, max_new
                )
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

        # ---------------------------------------------------------------- Chat handlers
        @user_errors
        def chat_ui(msg, turns, side, system, temp, max_new) -> Iterator[list[Any]]:
            turns = list(turns or [])
            # The page keeps the whole conversation; the model gets the newest turns within
            # the per-request limit, and fewer when they do not fit its context.
            sent = turns[-2 * LIMITS.history_turns :]
            unsent = len(split_turns(turns)) - len(split_turns(sent))
            for part in service.chat(msg, sent, side, system, temp, max_new):
                reply = part["reply"]
                shown = [
                    *turns,
                    {"role": "user", "content": msg},
                    {"role": "assistant", "content": reply},
                ]
                notes = limit_notes(
                    part["turns_dropped"] + unsent,
                    part.get("timed_out", False),
                    service.request_timeout,
                )
                yield [
                    chat_display(shown),
                    shown if part["done"] else gr.skip(),
                    "",
                    gr.update(visible=False),
                    "\n\n".join(f"_Note: {note}_" for note in notes),
                ]

        chat_inputs = [
            message,
            history,
            chat_side,
            system_prompt,
            chat_temperature,
            chat_max_tokens,
        ]
        chat_outputs = [chatbot, history, message, breakdown_col, chat_note]
        for trigger in (send_btn.click, message.submit):
            trigger(
                chat_ui,
                chat_inputs,
                chat_outputs,
                api_visibility="private",
                concurrency_id=GENERATE,
            )

        clear_btn.click(
            lambda: ([], [], gr.update(visible=False), ""),
            None,
            [chatbot, history, breakdown_col, chat_note],
            api_visibility="private",
        )

        @user_errors
        def show_breakdown(turns: list[dict[str, str]]) -> list[Any]:
            turns = list(turns or [])
            if not turns or turns[-1]["role"] != "assistant":
                raise InputError("no reply yet: send a message first")
            prompt = turns[-2]["content"] if len(turns) > 1 else None
            result = service.score_reply(turns[-1]["content"], prompt)
            return [
                gr.update(visible=True),
                result_markdown(result, "Reward breakdown of the last reply"),
                highlight_spans(result["completion"], result["terms"]),
                bar_update(result["components"]),
            ]

        breakdown_btn.click(
            show_breakdown,
            history,
            [breakdown_col, chat_summary, chat_text, chat_plot],
            api_visibility="private",
        )

        # ---------------------------------------------------------------- Score handlers
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
                raise InputError("upload a CSV, TSV or JSONL file first")
            result = service.score_file(Path(path), preset)
            return result["path"], {**result["summary"], "preview": result["preview"]}

        file_btn.click(
            score_file, [upload, score_preset], [scored_file, file_summary], api_name="score_file"
        )

        # ---------------------------------------------------------------- Named API
        @user_errors
        def chat(
            message: str,
            history: list[dict] | None = None,
            model: str = "tuned",
            system_prompt: str = "",
            temperature: float = 0.7,
            max_tokens: int = 256,
        ) -> Iterator[dict]:
            """Stream one chat turn with the base or tuned model.

            Yields {"model", "side", "reply", "done": False} while the reply grows, then the
            final reply with "done": True and its reward "breakdown". "turns_dropped" counts
            the oldest turns left out to fit the context, "timed_out" says the time limit cut
            the reply, and "notes" says both in words.
            """
            yield from service.chat(message, history, model, system_prompt, temperature, max_tokens)

        @user_errors
        def compare(
            question: str,
            option_a: str,
            option_b: str,
            option_c: str,
            option_d: str,
            gold: str = "",
            temperature: float = 0.0,
            max_tokens: int = 256,
        ) -> dict:
            """Answer one question with both models; each side carries its letter, text, total,
            components, neutrality terms and (with a gold letter) correctness."""
            return service.compare(
                question, [option_a, option_b, option_c, option_d], gold, temperature, max_tokens
            )

        @user_errors
        def score(
            completion: str,
            question: str = "",
            option_a: str = "",
            option_b: str = "",
            option_c: str = "",
            option_d: str = "",
            gold: str = "",
            preset: str = "",
        ) -> dict:
            """Reward breakdown of any completion: answer, total, components, terms, details."""
            return service.score_text(
                completion, question, [option_a, option_b, option_c, option_d], gold, preset
            )

        def info() -> dict:
            """The models, backend, reward presets and input limits this app serves."""
            return service.info()

        gr.api(chat, api_name="chat", concurrency_id=GENERATE)
        gr.api(compare, api_name="compare", concurrency_id=GENERATE)
        gr.api(score, api_name="score")
        gr.api(info, api_name="info")

    return demo
