"""The Gradio page: Compare, Chat and Score tabs, plus the named API endpoints.

``build_app(service)`` returns a ``gr.Blocks``; ``app.cli`` loads the models, builds it and
launches it. One module per tab (:mod:`app.ui.compare`, :mod:`app.ui.chat`,
:mod:`app.ui.score`) and one for the named endpoints (:mod:`app.ui.api`); the UI handlers and
the endpoints (``chat``, ``compare``, ``score``, ``score_file``, ``info``) all call the same
:class:`app.service.AppService` methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.ui.common import CSS, chat_box, chat_display, result_markdown, user_errors

if TYPE_CHECKING:
    from app.service import AppService

__all__ = ["CSS", "build_app", "chat_box", "chat_display", "result_markdown", "user_errors"]


def build_app(service: AppService) -> Any:
    """Build the page and the API for a loaded ``service``; returns an unlaunched ``gr.Blocks``."""
    import gradio as gr

    from app.ui.api import add_api
    from app.ui.chat import chat_tab
    from app.ui.compare import compare_tab
    from app.ui.score import score_tab

    with gr.Blocks(
        title="zhongli · 中立", analytics_enabled=False, delete_cache=(3600, 3600)
    ) as demo:
        gr.Markdown(
            "# zhongli · 中立\nChat with the base and the tuned model, compare their answers to "
            "a multiple-choice question with every reward component shown, or score any text."
        )
        gr.Markdown(f"Ready — {service.status_line()}", elem_id="status", elem_classes="zl-status")
        with gr.Tabs():
            compare_tab(service)
            chat_tab(service)
            score_tab(service)
        add_api(service)
    return demo
