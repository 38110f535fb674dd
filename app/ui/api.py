"""The named API endpoints (``chat``, ``compare``, ``score``, ``info``) for scripts.

Each calls the same :class:`app.service.AppService` method as the page; ``score_file`` is the
Score tab's button (see :mod:`app.ui.score`). ``gradio_client`` reaches them by name.
"""

from __future__ import annotations

from collections.abc import Iterator

from app.service import AppService
from app.ui.common import GENERATE, user_errors

__all__ = ["add_api"]


def add_api(service: AppService) -> None:
    """Register the named endpoints on the ``gr.Blocks`` being built."""
    import gradio as gr

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
