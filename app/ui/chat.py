"""The Chat tab: a conversation with the base or tuned model, and the last reply's rewards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.conversation import limit_notes, split_turns
from app.limits import LIMITS
from app.service import SIDES, AppService
from app.ui.common import (
    GENERATE,
    bar_update,
    chat_box,
    chat_display,
    result_markdown,
    user_errors,
)
from app.ui.highlight import TERM_COLORS, highlight_spans
from mcq.errors import UsageError

__all__ = ["chat_tab"]


def chat_tab(service: AppService) -> None:
    """Add the Chat tab and its handlers to the ``gr.Blocks`` being built."""
    import gradio as gr

    labels = {side: service.models.label(side) for side in SIDES}

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
                chat_temperature = gr.Slider(0.0, 1.5, value=0.7, step=0.05, label="Temperature")
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
            raise UsageError("no reply yet: send a message first")
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
