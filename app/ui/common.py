"""Pieces every tab uses: the page CSS, the error wrapper, sample questions, result rendering."""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mcq.errors import UsageError

__all__ = [
    "CSS",
    "GENERATE",
    "bar_frame",
    "bar_update",
    "chat_box",
    "chat_display",
    "component_rows",
    "error_line",
    "inert_markdown",
    "load_samples",
    "result_markdown",
    "user_errors",
    "visible_error",
]

#: Events that run a model share one concurrency group: at most ``--concurrency`` at once.
GENERATE = "generate"

#: The page's own style rules (passed to ``launch(css=...)`` by :mod:`app.cli`).
CSS = """
.zl-status {font-size: 0.9em; opacity: 0.8}
.zl-answer-head h3 {margin-bottom: 0.2em}
"""

_LOG = logging.getLogger("app")


def error_line(err: BaseException, limit: int = 200) -> str:
    """One line for a visitor about an unexpected failure (the server log keeps the details).

    Example:
        >>> print(error_line(ValueError("prompt too long\\nTraceback ...")))
        the model could not answer (ValueError: prompt too long); try a shorter conversation or fewer max tokens
    """
    lines = str(err).strip().splitlines()
    first = lines[0].strip() if lines else ""
    if len(first) > limit:
        first = first[: limit - 1] + "…"
    what = f"{type(err).__name__}: {first}" if first else type(err).__name__
    return f"the model could not answer ({what}); try a shorter conversation or fewer max tokens"


def visible_error(err: Exception) -> Exception:
    """The ``gr.Error`` a visitor sees for ``err``: an :class:`mcq.errors.UsageError`'s own line, or one
    line naming an unexpected failure (its traceback goes to the server log), never Gradio's
    generic "upstream app has raised an exception"."""
    import gradio as gr

    if isinstance(err, gr.Error):
        return err
    if isinstance(err, UsageError):
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


def component_rows(components: Mapping[str, float | None]) -> list[dict[str, Any]]:
    """Rows ``{"component", "score"}`` for a bar chart; not-applicable components are left out."""
    return [
        {"component": name, "score": float(score)}
        for name, score in components.items()
        if score is not None
    ]


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


#: A Markdown image (``![alt](url)`` or ``![alt][ref]``): the browser would fetch its URL.
_MARKDOWN_IMAGE = re.compile(r"!\s*\[")


def inert_markdown(text: str) -> str:
    """Model output made safe for a Markdown view: HTML shows as text, images as text.

    Tags are escaped (``<img src=…>`` reads as it was written, no element is made) and a
    Markdown image loses its ``!``-bracket form, so the visitor's browser fetches nothing the
    model named.

    Example:
        >>> inert_markdown('<img src=http://x/y> ![a](http://x/z)')
        '&lt;img src=http://x/y&gt; !\\\\[a](http://x/z)'
    """
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_IMAGE.sub(lambda m: m.group(0)[:-1] + "\\[", escaped)


def chat_display(turns: list[dict[str, str]]) -> list[dict[str, str]]:
    """Chat turns as the Chatbot shows them: text inert (see :func:`inert_markdown`),
    so no reply makes the visitor's browser fetch anything."""
    return [{"role": t["role"], "content": inert_markdown(t["content"])} for t in turns]


def load_samples() -> list[Any]:
    """Sample questions for the Compare tab's dropdown, with gold letters where they are known.

    Reads ``assets/data/sample_test.tsv`` and joins ``sample_test_gold.csv`` (``id,
    correct_answer``) when it is there; falls back to the train sample, which carries gold.
    """
    import dataclasses

    import mcq
    from mcq.paths import SAMPLE_GOLD, SAMPLE_TEST, SAMPLE_TRAIN

    try:
        questions = mcq.load_test(SAMPLE_TEST, skip_invalid=True)
    except mcq.DataError:
        try:
            return mcq.load_train(SAMPLE_TRAIN, skip_invalid=True)
        except mcq.DataError:
            return []
    try:
        gold = mcq.load_gold(SAMPLE_GOLD)
    except mcq.DataError:
        gold = {}
    return [
        q
        if q.correct_answer or q.id not in gold
        else dataclasses.replace(q, correct_answer=gold[q.id])
        for q in questions
    ]
