"""What the app does, without the web page: generate with base or tuned, score, compare.

``AppService`` owns the loaded models and the reward preset. Every method checks its input
against :data:`app.helpers.LIMITS` (raising :class:`app.helpers.InputError`) and returns
JSON-friendly data, so the Gradio UI and the named API endpoints share one implementation.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.helpers import (
    LIMITS,
    UPLOAD_SUFFIXES,
    InputError,
    breakdown_dict,
    build_question,
    check_number,
    check_text,
    summarize_scores,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_BASE = REPO_ROOT / "assets" / "models" / "demo-base"
DEMO_ADAPTER = REPO_ROOT / "assets" / "models" / "demo-grpo-adapter"
SAMPLE_TEST = REPO_ROOT / "assets" / "data" / "sample_test.tsv"
SAMPLE_GOLD = REPO_ROOT / "assets" / "data" / "sample_test_gold.csv"
SAMPLE_TRAIN = REPO_ROOT / "assets" / "data" / "sample_train.tsv"

#: The two sides every tab offers.
SIDES: tuple[str, ...] = ("base", "tuned")


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
    """

    def __init__(
        self,
        models: ModelChoice,
        preset: str = "default",
        engine_kwargs: dict | None = None,
        prompt: str = "default",
    ):
        import mcq

        self.models = models
        self.preset_name = preset
        self.prompt = mcq.load_prompt(prompt)
        self.engine_kwargs = dict(engine_kwargs or {})
        # Backends are thread-safe (transformers: a lock; vLLM: concurrent streams share the
        # engine's batches); the queue's concurrency limit bounds how many run at once.
        self._backends: dict[str, Any] = {}
        self.backend_name = "?"
        self.load_seconds = 0.0

    # ---------------------------------------------------------------- start-up
    def load(self) -> float:
        """Load the reward preset and the model backends once; return the seconds it took."""
        import rewards
        from inference.backends import get_backend

        start = time.perf_counter()
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
        }

    # ---------------------------------------------------------------- generation
    def _side(self, side: str) -> tuple[Any, bool]:
        if side not in SIDES:
            raise InputError(f"model must be 'base' or 'tuned', got {side!r}")
        backend = self._backends[side]
        shared = self._backends["base"] is self._backends["tuned"]
        # One engine serving both sides: the tuned side is the base plus the LoRA adapter.
        use_adapter = side == "tuned" if shared else bool(self.models.adapter)
        return backend, use_adapter

    def stream(
        self, side: str, messages: list[dict[str, str]], temperature: float, max_new_tokens: int
    ) -> Iterator[str]:
        """Yield the growing reply of ``side`` to chat ``messages``."""
        backend, use_adapter = self._side(side)
        yield from backend.stream_chat(
            messages,
            temperature=temperature,
            max_new_tokens=max_new_tokens,
            use_adapter=use_adapter,
        )

    def generate(
        self, side: str, messages: list[dict[str, str]], temperature: float, max_new_tokens: int
    ) -> str:
        """Return the full reply of ``side`` to chat ``messages``."""
        backend, use_adapter = self._side(side)
        out = backend.chat(
            [messages], temperature=temperature, max_new_tokens=max_new_tokens, lora=use_adapter
        )
        return out[0][0].text

    # ---------------------------------------------------------------- chat
    def chat(
        self,
        message: str,
        history: Sequence[dict[str, Any]] | None = None,
        side: str = "tuned",
        system_prompt: str | None = None,
        temperature: float = 0.7,
        max_new_tokens: int = 256,
    ) -> Iterator[dict[str, Any]]:
        """Stream one chat turn: ``{"model", "reply", "done": False}`` while the reply grows,
        then the finished reply with ``"done": True`` and its reward ``"breakdown"``.
        """
        messages = chat_messages(message, history, system_prompt, self.prompt.system or "")
        temperature = check_number("temperature", temperature, 0.0, 2.0)
        max_new_tokens = int(check_number("max tokens", max_new_tokens, 1, LIMITS.max_new_tokens))
        model = self.models.label(side) if side in SIDES else side
        self.check_fits(side, messages, max_new_tokens)
        reply = ""
        for reply in self.stream(side, messages, temperature, max_new_tokens):
            yield {"model": model, "side": side, "reply": reply, "done": False}
        breakdown = self.score_reply(reply, messages[-1]["content"])
        yield {"model": model, "side": side, "reply": reply, "done": True, "breakdown": breakdown}

    # ---------------------------------------------------------------- scoring
    def preset_names(self) -> list[str]:
        """Preset names a visitor may pick: the shipped ones plus the one the app started with."""
        import rewards

        names = [_preset_name(p) for p in rewards.list_presets()]
        if self.preset.name not in names:
            names.insert(0, self.preset.name)
        return names

    def _preset_for(self, name: str | None) -> Any:
        import rewards

        if not name or name == self.preset.name:
            return self.preset
        # Names only: a visitor never gets to point the server at a file of their choosing.
        if name not in self.preset_names():
            raise InputError(f"unknown reward preset {name!r}; choose one of {self.preset_names()}")
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
        sample = _sample(q) if (q.question or any(q.options.values()) or q.correct_answer) else None
        breakdown = rewards.score(text, sample, preset=self._preset_for(preset))
        result = breakdown_dict(breakdown, gold=q.correct_answer)
        result["completion"] = text
        result["preset"] = self._preset_for(preset).name
        return result

    def score_reply(self, reply: str, prompt: str | None = None) -> dict[str, Any]:
        """Breakdown of a chat reply (no options, no gold: correctness is not applicable)."""
        import rewards

        sample = rewards.Sample(question=prompt) if prompt else None
        result = breakdown_dict(rewards.score(reply, sample, preset=self.preset))
        result["completion"] = reply
        result["preset"] = self.preset.name
        return result

    # ---------------------------------------------------------------- compare
    def compare_side(
        self,
        side: str,
        question: str,
        options: Sequence[str],
        gold: str = "",
        temperature: float = 0.0,
        max_new_tokens: int = 256,
        system_prompt: str | None = None,
    ) -> dict[str, Any]:
        """Generate one side's answer to a question and score it.

        A question too long for the model's context is shortened in its middle first
        (``prompt_truncated`` in the result says so; the UI shows a note).
        """
        import rewards

        q = build_question(question, list(options), gold)
        temperature = check_number("temperature", temperature, 0.0, 2.0)
        max_new_tokens = int(check_number("max tokens", max_new_tokens, 1, LIMITS.max_new_tokens))
        system = check_text("system prompt", system_prompt, LIMITS.system_prompt_chars)
        messages, truncated = self.fit_question(side, q, max_new_tokens, system)
        start = time.perf_counter()
        text = self.generate(side, messages, temperature, max_new_tokens)
        seconds = time.perf_counter() - start
        result = breakdown_dict(
            rewards.score(text, _sample(q), preset=self.preset), gold=q.correct_answer
        )
        result.update(
            model=self.models.label(side),
            side=side,
            text=text,
            seconds=round(seconds, 2),
            prompt_truncated=truncated,
        )
        return result

    def fit_question(
        self, side: str, q: Any, max_new_tokens: int, system_prompt: str = ""
    ) -> tuple[list[dict[str, str]], bool]:
        """The messages for ``q`` under the app's prompt, shortened to fit ``side``'s context
        the way ``inference generate`` does it, and whether they were."""
        import mcq
        from inference.context import fit_conversations

        backend, _ = self._side(side)
        own = {"system_prompt": system_prompt} if system_prompt else {}
        try:
            conversations, truncated = fit_conversations(
                backend, [q], self.prompt, max_new_tokens=max_new_tokens, **own
            )
        except mcq.PromptTooLong as err:
            raise InputError(f"{err}: shorten the system prompt or lower max tokens") from None
        return conversations[0], truncated[0]

    def check_fits(self, side: str, messages: list[dict[str, str]], max_new_tokens: int) -> None:
        """Raise :class:`InputError` when a chat does not fit ``side``'s context."""
        from inference.context import prompt_budget

        backend, _ = self._side(side)
        budget = prompt_budget(backend, max_new_tokens)
        if budget is None:
            return
        length = backend.prompt_lengths([messages])[0]
        if length > budget:
            raise InputError(
                f"the conversation is {length} tokens; the model's context of "
                f"{backend.max_model_len} leaves {budget} beside {max_new_tokens} new tokens: "
                "clear the conversation, shorten the message or lower max tokens"
            )

    def compare(
        self,
        question: str,
        options: Sequence[str],
        gold: str = "",
        temperature: float = 0.0,
        max_new_tokens: int = 256,
        system_prompt: str | None = None,
    ) -> dict[str, Any]:
        """Base and tuned answers to one question, each with its reward breakdown."""
        q = build_question(question, list(options), gold)
        out: dict[str, Any] = {
            "question": q.question,
            "options": q.options,
            "gold": q.correct_answer,
            "preset": self.preset.name,
        }
        for side in SIDES:
            out[side] = self.compare_side(
                side, question, options, gold, temperature, max_new_tokens, system_prompt
            )
        return out

    # ---------------------------------------------------------------- files
    def score_file(self, path: str | os.PathLike, preset: str | None = None) -> dict[str, Any]:
        """Score an uploaded CSV/TSV/JSONL of completions; write the scored file next to it.

        ``path`` must be a file Gradio received as an upload (the UI never takes a typed path).
        Returns ``{"path": scored file, "summary": {...}, "preview": first rows}``.
        """
        import mcq
        import rewards.io

        src = Path(path)
        if src.suffix.lower() not in UPLOAD_SUFFIXES:
            raise InputError(f"upload a {', '.join(UPLOAD_SUFFIXES)} file, got {src.name!r}")
        size = src.stat().st_size
        if size > LIMITS.upload_bytes:
            raise InputError(
                f"{src.name} is {size / 1e6:.1f} MB; the limit is {LIMITS.upload_bytes / 1e6:.1f} MB"
            )
        try:
            rows = rewards.io.load_completions(src)
        except mcq.DataError as err:
            raise InputError(str(err).replace(str(src.parent) + os.sep, "")) from None
        if not rows:
            raise InputError(f"{src.name} holds no completions")
        if len(rows) > LIMITS.upload_rows:
            raise InputError(
                f"{src.name} has {len(rows):,} rows; the limit is {LIMITS.upload_rows:,}"
            )
        for i, row in enumerate(rows, 1):
            if len(str(row.get("completion") or "")) > LIMITS.completion_chars:
                raise InputError(
                    f"row {i}: completion longer than {LIMITS.completion_chars:,} characters"
                )
        preset_obj = self._preset_for(preset)
        scored = rewards.io.score_rows(rows, preset_obj)
        out_dir = Path(tempfile.mkdtemp(prefix="zhongli-scored-"))
        jsonl = src.suffix.lower() == ".jsonl"
        out = out_dir / f"{src.stem}.scored{'.jsonl' if jsonl else '.csv'}"
        _write_rows(out, scored, jsonl=jsonl)
        return {
            "path": str(out),
            "summary": {**summarize_scores(scored), "preset": preset_obj.name},
            "preview": scored[:20],
        }


def chat_messages(
    message: object,
    history: Sequence[Any] | None,
    system_prompt: object,
    default_system: str | None = None,
) -> list[dict[str, str]]:
    """Check a chat turn and its history; return the messages to send to the model.

    An empty ``system_prompt`` means ``default_system`` (None: mcq's default system turn;
    "": no system turn).
    History items are ``{"role": "user"|"assistant", "content": str}``; Gradio 6's
    ``[{"type": "text", "text": ...}]`` content lists are accepted too.
    """
    import mcq

    text = check_text("message", message, LIMITS.message_chars, required=True)
    system = check_text("system prompt", system_prompt, LIMITS.system_prompt_chars)
    turns = list(history or [])
    if len(turns) > 2 * LIMITS.history_turns:
        raise InputError(
            f"the conversation is longer than {LIMITS.history_turns} turns; clear it to go on"
        )
    system = system or (mcq.SYSTEM_PROMPT if default_system is None else default_system)
    messages = [{"role": "system", "content": system}] if system else []
    for i, turn in enumerate(turns):
        role = turn.get("role") if isinstance(turn, dict) else None
        if role not in ("user", "assistant"):
            raise InputError(f"history item {i}: role must be 'user' or 'assistant'")
        content = _plain_text(turn.get("content"))
        check_text(f"history item {i}", content, max(LIMITS.message_chars, LIMITS.completion_chars))
        messages.append({"role": role, "content": content})
    messages.append({"role": "user", "content": text})
    return messages


def _plain_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, list):
        return "".join(_plain_text(part) for part in content)
    return ""


def _sample(q: Any) -> Any:
    import rewards

    return rewards.Sample.from_question(q)


def _preset_name(preset: Any) -> str:
    return preset if isinstance(preset, str) else preset.name


def _backend_kind(backend: Any) -> str:
    name = getattr(backend, "name", None) or type(backend).__name__
    return str(name).lower().removesuffix("backend")


def _write_rows(path: Path, rows: list[dict[str, Any]], *, jsonl: bool) -> None:
    """Write scored rows atomically: CSV through ``rewards.io.write_csv``, or JSONL."""
    import rewards.io

    if not jsonl:
        rewards.io.write_csv(rows, path)
        return
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
