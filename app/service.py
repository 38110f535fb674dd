"""What the app does, without the web page: generate with base or tuned, score, compare.

``AppService`` owns the loaded models and the reward preset. Every method checks its input
against :data:`app.limits.LIMITS` (raising :class:`mcq.errors.UsageError`) and returns
JSON-friendly data (:mod:`app.results`), so the Gradio UI and the named API endpoints share one
implementation.

Beyond the per-field limits every request is bounded as a whole: a chat keeps only the newest
turns that fit the model's context (``turns_dropped`` says how many went), a generation stops
at ``request_timeout`` seconds (``timed_out``), and scored files are removed on ``close`` and
once they are an hour old.

Each public method is one endpoint's whole implementation; uploads (:mod:`app.uploads`) and
chat turns with their context fitting (:mod:`app.conversation`) live beside the class.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.conversation import chat_messages, fit_turns, limit_notes
from app.limits import LIMITS, check_generation, check_text
from app.questions import build_question, question_messages
from app.results import Answer, breakdown_dict
from mcq.errors import UsageError
from mcq.paths import DEMO_ADAPTER, DEMO_BASE

if TYPE_CHECKING:
    from inference.backends.base import Backend, Conversation
    from mcq import Question
    from rewards import Preset

#: The two sides every tab offers.
SIDES: tuple[str, ...] = ("base", "tuned")
#: Wall-clock seconds one generation may run (``--request-timeout``) before it is cut.
REQUEST_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ModelChoice:
    """Which weights the app serves: a base model and either a tuned model or an adapter."""

    base_model: str = str(DEMO_BASE)
    tuned_model: str | None = None
    adapter: str | None = str(DEMO_ADAPTER)
    backend: str = "auto"

    def label(self, side: str) -> str:
        """Short display name of one side, e.g. ``demo-base`` or ``demo-grpo-adapter (LoRA)``."""
        if side == "base":
            return _short(self.base_model)
        if self.tuned_model:
            return _short(self.tuned_model)
        return f"{_short(self.adapter or '')} (LoRA)"


def _short(model: str) -> str:
    path = Path(model)
    return path.name if path.exists() else model


class AppService:
    """Loaded models plus the reward preset: the app's behaviour, free of any UI.

    Args:
        models: the weights to serve.
        preset: the reward preset name or path chosen by whoever started the app.
        engine_kwargs: passed to ``inference.backends.get_backend`` (e.g. vLLM's
            ``max_model_len``).
        prompt: the prompt variant (``assets/prompts/`` name or YAML path) for questions.
        request_timeout: wall-clock seconds one generation may run; past it the answer is cut,
            the engine stops generating it and the worker is free for the next request.
    """

    def __init__(
        self,
        models: ModelChoice,
        preset: str = "default",
        engine_kwargs: dict[str, Any] | None = None,
        prompt: str = "default",
        request_timeout: float = REQUEST_TIMEOUT_S,
    ):
        import mcq

        self.models = models
        self.preset_name = preset
        self.prompt = mcq.load_prompt(prompt)
        self.engine_kwargs = dict(engine_kwargs or {})
        # Backends are thread-safe (transformers: a lock; vLLM: concurrent streams share the
        # engine's batches); the queue's concurrency limit bounds how many run at once.
        self._backends: dict[str, Backend] = {}
        self.preset: Preset
        self.backend_name = "?"
        self.load_seconds = 0.0
        self.request_timeout = float(request_timeout)
        self._scored_dirs: list[Path] = []

    # ---------------------------------------------------------------- start-up
    def load(self) -> float:
        """Load the reward preset and the model backends once; return the seconds it took."""
        import rewards
        from app.uploads import remove_stale_scored
        from inference.backends import get_backend

        start = time.perf_counter()
        remove_stale_scored()
        self.preset = rewards.load_preset(self.preset_name)
        # The first score loads OpenCC, jieba and the lexicon (~seconds): pay that now, not in
        # the first visitor's request.
        rewards.score("答案：A\n理由：或許如此。", None, preset=self.preset)
        m = self.models
        base = get_backend(m.base_model, adapter=m.adapter, backend=m.backend, **self.engine_kwargs)
        tuned = base
        if m.tuned_model:
            tuned = get_backend(m.tuned_model, backend=m.backend, **self.engine_kwargs)
        self._backends = {"base": base, "tuned": tuned}
        self.backend_name = _backend_kind(base)
        self.load_seconds = time.perf_counter() - start
        return self.load_seconds

    def close(self) -> None:
        """Remove the scored files this service wrote (at shutdown; safe to call twice)."""
        while self._scored_dirs:
            shutil.rmtree(self._scored_dirs.pop(), ignore_errors=True)

    def status_line(self) -> str:
        """One line for the UI header: what is loaded, with which backend, how fast."""
        m = self.models
        return (
            f"base: {m.label('base')} · tuned: {m.label('tuned')} · backend: {self.backend_name}"
            f" · reward preset: {self.preset.name} · prompt: {self.prompt.name}"
            f" · models loaded in {self.load_seconds:.1f} s"
        )

    def info(self) -> dict[str, Any]:
        """What the app serves, as JSON (the ``info`` API endpoint)."""
        return {
            "base": self.models.label("base"),
            "tuned": self.models.label("tuned"),
            "backend": self.backend_name,
            "preset": self.preset.name,
            "presets": self.preset_names(),
            "prompt": self.prompt.name,
            "load_seconds": round(self.load_seconds, 2),
            "limits": {k: getattr(LIMITS, k) for k in LIMITS.__dataclass_fields__},
            "request_timeout_s": self.request_timeout,
        }

    # ---------------------------------------------------------------- generation
    def _side(self, side: str) -> tuple[Backend, bool]:
        if side not in SIDES:
            raise UsageError(f"model must be 'base' or 'tuned', got {side!r}")
        backend = self._backends[side]
        shared = self._backends["base"] is self._backends["tuned"]
        # One engine serving both sides: the tuned side is the base plus the LoRA adapter.
        use_adapter = side == "tuned" if shared else bool(self.models.adapter)
        return backend, use_adapter

    def stream(
        self, side: str, messages: Conversation, temperature: float, max_new_tokens: int
    ) -> Iterator[tuple[str, bool]]:
        """Yield ``(growing reply, timed_out)`` of ``side`` to chat ``messages``.

        Past ``request_timeout`` seconds the last item has ``timed_out`` True and the stream
        is closed, which stops the engine: transformers' stopping criterion ends ``generate``
        at the next token and releases its lock; vLLM aborts the request. The clock is read
        between tokens, so one token (or the prompt's prefill, bounded by the context) may
        overrun it.
        """
        backend, use_adapter = self._side(side)
        deadline = time.monotonic() + self.request_timeout
        pieces = backend.stream_chat(
            messages,
            temperature=temperature,
            max_new_tokens=max_new_tokens,
            use_adapter=use_adapter,
        )
        try:
            for reply in pieces:
                if time.monotonic() > deadline:
                    yield reply, True
                    return
                yield reply, False
        finally:
            pieces.close()  # type: ignore[attr-defined]  # backends stream from a generator

    def generate(
        self, side: str, messages: Conversation, temperature: float, max_new_tokens: int
    ) -> tuple[str, bool]:
        """Return the full reply of ``side`` to chat ``messages`` and whether the time limit
        cut it."""
        last = deque(self.stream(side, messages, temperature, max_new_tokens), maxlen=1)
        return last[0] if last else ("", False)

    # ---------------------------------------------------------------- chat
    def chat(
        self,
        message: str,
        history: Sequence[Mapping[str, Any]] | None = None,
        side: str = "tuned",
        system_prompt: str | None = None,
        temperature: float = 0.7,
        max_new_tokens: int = 256,
    ) -> Iterator[dict[str, Any]]:
        """Stream one chat turn: ``{"model", "reply", "done": False, ...}`` while the reply
        grows, then the finished reply with ``"done": True`` and its reward ``"breakdown"``.

        Every item carries ``turns_dropped`` (oldest history turns left out to fit the
        context) and ``notes`` (lines for the visitor); the last one ``timed_out`` too.
        """
        messages = chat_messages(message, history, system_prompt, self.prompt.system or "")
        temperature, max_new_tokens = check_generation(temperature, max_new_tokens)
        model = self.models.label(side) if side in SIDES else side
        messages, dropped = self.fit_history(side, messages, max_new_tokens)
        head = {"model": model, "side": side, "turns_dropped": dropped}
        reply, timed_out = "", False
        for reply, timed_out in self.stream(side, messages, temperature, max_new_tokens):
            if not timed_out:
                yield {**head, "reply": reply, "done": False, "notes": limit_notes(dropped)}
        yield {
            **head,
            "reply": reply,
            "done": True,
            "timed_out": timed_out,
            "notes": limit_notes(dropped, timed_out, self.request_timeout),
            "breakdown": self.score_reply(reply, messages[-1]["content"]),
        }

    # ---------------------------------------------------------------- scoring
    def preset_names(self) -> list[str]:
        """Preset names a visitor may pick: the shipped ones plus the one the app started with."""
        import rewards

        names = [p.name for p in rewards.list_presets()]
        if self.preset.name not in names:
            names.insert(0, self.preset.name)
        return names

    def _preset_for(self, name: str | None) -> Preset:
        import rewards

        if not name or name == self.preset.name:
            return self.preset
        # Names only: a visitor never gets to point the server at a file of their choosing.
        if name not in self.preset_names():
            raise UsageError(f"unknown reward preset {name!r}; choose one of {self.preset_names()}")
        return rewards.load_preset(name)

    def score_text(
        self,
        completion: str,
        question: str = "",
        options: Sequence[str] = ("", "", "", ""),
        gold: str = "",
        preset: str | None = None,
    ) -> dict[str, Any]:
        """Score a pasted completion (question and gold optional); return its breakdown dict."""
        import rewards

        text = check_text("completion", completion, LIMITS.completion_chars, required=True)
        q = build_question(question, list(options), gold, required=False)
        given = q.question or any(q.options.values()) or q.correct_answer
        sample = rewards.Sample.from_question(q) if given else None
        chosen = self._preset_for(preset)
        result = breakdown_dict(rewards.score(text, sample, preset=chosen), gold=q.correct_answer)
        return {**result, "completion": text, "preset": chosen.name}

    def score_reply(self, reply: str, prompt: str | None = None) -> dict[str, Any]:
        """Breakdown of a chat reply (no options, no gold: correctness is not applicable)."""
        import rewards

        sample = rewards.Sample(question=prompt, prompt=prompt) if prompt else None
        breakdown = rewards.score(reply, sample, preset=self.preset)
        return {**breakdown_dict(breakdown), "completion": reply, "preset": self.preset.name}

    # ---------------------------------------------------------------- compare
    def compare(
        self,
        question: str,
        options: Sequence[str],
        gold: str = "",
        temperature: float = 0.0,
        max_new_tokens: int = 256,
        system_prompt: str | None = None,
        sides: Sequence[str] = SIDES,
    ) -> dict[str, Any]:
        """Base and tuned answers to one question, each with its reward breakdown.

        A question too long for the model's context is shortened in its middle first
        (``prompt_truncated`` in a side's result says so; the UI shows a note).
        """
        q = build_question(question, list(options), gold)
        steps = self.compare_steps(q, temperature, max_new_tokens, system_prompt, sides)
        return deque(steps, maxlen=1)[0]

    def compare_side(self, side: str, *compare_args: Any, **compare_kwargs: Any) -> dict[str, Any]:
        """One side's scored answer: :meth:`compare` (same arguments) with ``side`` alone."""
        return self.compare(*compare_args, sides=(side,), **compare_kwargs)[side]

    def compare_steps(
        self,
        q: Question,
        temperature: float = 0.0,
        max_new_tokens: int = 256,
        system_prompt: str | None = None,
        sides: Sequence[str] = SIDES,
    ) -> Iterator[dict[str, Any]]:
        """:meth:`compare` of a checked question as it goes, for a page that shows each answer
        when it comes: ``{"question", "options", "gold", "preset", <side>: ...}`` after each
        side's (unscored) :class:`Answer`, and last with every answer and its breakdown, scored
        in one batch (one forward pass of a reward model, concurrent calls to a judge)."""
        out: dict[str, Any] = {
            "question": q.question,
            "options": q.options,
            "gold": q.correct_answer,
            "preset": self.preset.name,
        }
        answers = []
        for side in sides:
            answers.append(self.answer(side, q, temperature, max_new_tokens, system_prompt))
            out[side] = answers[-1]
            yield dict(out)
        out.update(zip(sides, self.score_answers(q, answers), strict=True))
        yield out

    def answer(
        self,
        side: str,
        q: Question,
        temperature: float,
        max_new_tokens: int,
        system_prompt: str | None = None,
    ) -> Answer:
        """``side``'s answer to ``q`` (a checked question) and how it was made, not yet scored:
        give it to :meth:`score_answers` (with the other side's, to score both in one batch)."""
        temperature, max_new_tokens = check_generation(temperature, max_new_tokens)
        system = check_text("system prompt", system_prompt, LIMITS.system_prompt_chars)
        backend, _ = self._side(side)
        messages, truncated = question_messages(backend, q, self.prompt, max_new_tokens, system)
        start = time.perf_counter()
        text, timed_out = self.generate(side, messages, temperature, max_new_tokens)
        return {
            "model": self.models.label(side),
            "side": side,
            "text": text,
            "seconds": round(time.perf_counter() - start, 2),
            "prompt_truncated": truncated,
            "timed_out": timed_out,
            "notes": limit_notes(timed_out=timed_out, limit_s=self.request_timeout),
        }

    def score_answers(self, q: Question, answers: Sequence[Answer]) -> list[dict[str, Any]]:
        """:meth:`answer` results for ``q`` with their breakdowns, scored in one batch per
        component (one forward pass of a reward model, concurrent calls to a judge)."""
        from rewards import Sample
        from rewards.scoring import score_batch

        texts = [answer["text"] for answer in answers]
        breakdowns = score_batch(texts, [Sample.from_question(q)] * len(texts), self.preset)
        return [
            {**breakdown_dict(breakdown, gold=q.correct_answer), **answer}
            for breakdown, answer in zip(breakdowns, answers, strict=True)
        ]

    def fit_history(
        self, side: str, messages: Conversation, max_new_tokens: int
    ) -> tuple[Conversation, int]:
        """``messages`` without the oldest turns that keep them from fitting ``side``'s
        context, and how many turns went (see :func:`app.conversation.fit_turns`)."""
        return fit_turns(self._side(side)[0], messages, max_new_tokens)

    # ---------------------------------------------------------------- files
    def score_file(self, path: str | os.PathLike, preset: str | None = None) -> dict[str, Any]:
        """Score an uploaded CSV/TSV/JSONL of completions (see :func:`app.uploads.score_upload`).

        The scored file's folder goes on :meth:`close`.
        """
        from app.uploads import score_upload

        return score_upload(Path(path), self._preset_for(preset), self._scored_dirs)


def _backend_kind(backend: Backend) -> str:
    name = getattr(backend, "name", None) or type(backend).__name__
    return str(name).lower().removesuffix("backend")
