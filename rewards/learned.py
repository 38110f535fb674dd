"""Learned reward models as registry components (the ``reward_model`` factory key).

A preset names one like any component, with settings that say what it is::

    components: {rm: 0.5, correctness: 0.5}
    settings:
      rm:
        reward_model: runs/rm-demo   # a folder (relative to the preset, else to the cwd) or a hub id
        batch_size: 64               # texts per forward pass
        max_length: 1024             # tokens; longer texts lose their beginning, never their end
        device: auto                 # cuda when there is one, else cpu (or "cpu", "cuda:1", ...)
        dtype: auto                  # bfloat16 where the device computes it natively, else float32
        workers: auto                # batches at once on a CPU (auto: torch's thread count)
        temperature: 1.0             # score = sigmoid((logit - center) / temperature)
        center: 0.0

The model is a sequence classifier with one output (``AutoModelForSequenceClassification``,
``num_labels=1``), such as ``python -m training rm`` saves; a LoRA adapter folder works too.
Its logit is mapped to [0, 1] with a logistic sigmoid, so 0.5 means a logit of ``center``;
``temperature`` > 1 spreads scores away from 0 and 1.

It reads a conversation (:func:`conversation`), as public reward models, RewardBench and TRL's
``RewardTrainer`` do: the prompt the answer replies to (the row's own ``prompt``, text or
messages; else the question as the policy is asked it, :func:`mcq.prompt.build_messages`),
then the answer as the assistant turn, through the tokenizer's chat template
(:func:`reward_input`). A tokenizer without a template gets the plain text
:func:`plain_text` plus its end token, as TRL trains on plain text. ``training rm`` trains on
the same conversations, so a model it trains and a hub model are scored alike.
A checkpoint that is not a reward model (no classification head in its weights) is refused
(:mod:`rewards.learned_loading`).

torch and transformers are imported on the first score, never when :mod:`rewards` is imported;
a loaded model is cached per (path, device) for the life of the process.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mcq.errors import DataError
from mcq.records import Question
from rewards.registry import Component, Sample, component_factory

__all__ = [
    "DEFAULTS",
    "conversation",
    "input_format",
    "load_reward_model",
    "plain_text",
    "reward_input",
    "reward_model_factory",
    "score_batch",
    "score_logits",
    "to_unit",
]

#: Settings of a ``reward_model`` component and their defaults.
DEFAULTS: dict[str, Any] = {
    "batch_size": 32,
    "max_length": 1024,
    "device": "auto",
    "dtype": "auto",
    "workers": "auto",
    "temperature": 1.0,
    "center": 0.0,
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_DTYPES = ("auto", "float32", "bfloat16", "float16")
_LOADED: dict[tuple[str, str, str], tuple[Any, Any, str]] = {}  # (path, device, dtype) -> loaded
_LOCK = threading.Lock()


def conversation(completion: str, sample: Sample | None = None) -> list[dict[str, Any]]:
    """The chat a reward model reads: what the answer replies to, then the answer.

    The sample's ``prompt`` (messages kept whole, or a text as the user turn) when it has one,
    else the question as the policy is asked it (:func:`mcq.prompt.build_messages`), else
    nothing; the answer is the last, assistant turn.

    Example:
        >>> conversation("答案：B", Sample(prompt="哪一項正確？"))
        [{'role': 'user', 'content': '哪一項正確？'}, {'role': 'assistant', 'content': '答案：B'}]
        >>> [m["role"] for m in conversation("答案：B", Sample(question="何者？", options={"A": "甲"}))]
        ['system', 'user', 'assistant']
        >>> conversation("答案：B")
        [{'role': 'assistant', 'content': '答案：B'}]
    """
    return [*_prompt_messages(sample), {"role": "assistant", "content": completion}]


def _prompt_messages(sample: Sample | None) -> list[dict[str, Any]]:
    prompt = sample.prompt if sample is not None else None
    if isinstance(prompt, list) and prompt:
        return [dict(message) for message in prompt]
    if isinstance(prompt, str) and prompt.strip():
        return [{"role": "user", "content": prompt}]
    if sample is None or not (sample.question and str(sample.question).strip()):
        return []
    from mcq.prompt import build_messages

    options = {str(k): "" if v is None else str(v) for k, v in (sample.options or {}).items()}
    return build_messages(
        Question(id=str(sample.id or ""), question=str(sample.question), options=options)
    )


#: How :func:`plain_text` names each turn; another role is named by itself.
_ROLE_LABELS = {"system": "系統", "user": "題目", "assistant": "回答"}


def plain_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """A conversation as one plain text, for a tokenizer without a chat template.

    Example:
        >>> print(plain_text([{"role": "user", "content": "哪一項正確？"},
        ...                   {"role": "assistant", "content": "答案：B"}]))
        題目：哪一項正確？
        回答：答案：B
    """
    return "\n".join(
        f"{_ROLE_LABELS.get(str(m.get('role')), str(m.get('role')))}：{m.get('content') or ''}"
        for m in messages
    )


def has_chat_template(tokenizer: Any) -> bool:
    """Whether the tokenizer renders conversations itself (it has a chat template)."""
    return bool(getattr(tokenizer, "chat_template", None))


def reward_input(messages: Sequence[Mapping[str, Any]], tokenizer: Any) -> str:
    """The text a reward model reads for a conversation, end token included where one is due.

    Through the chat template (as TRL's ``RewardTrainer`` tokenizes conversational pairs, no
    generation prompt), else :func:`plain_text` plus the end-of-sequence token (as TRL does for
    plain-text pairs). Tokenize it with ``add_special_tokens=False``.
    """
    if has_chat_template(tokenizer):
        return tokenizer.apply_chat_template(list(messages), tokenize=False)
    return plain_text(messages) + (tokenizer.eos_token or "")


def input_format(settings: Mapping[str, Any]) -> str:
    """``"chat_template"`` or ``"plain"``: how the reward model in ``settings`` reads its input
    (loads it, once per process)."""
    options = {**DEFAULTS, **settings}
    _, tokenizer, _ = load_reward_model(
        str(options["reward_model"]), options["device"], options["dtype"]
    )
    return "chat_template" if has_chat_template(tokenizer) else "plain"


def to_unit(logit: float, temperature: float = 1.0, center: float = 0.0) -> float:
    """Map a reward model's logit to [0, 1]: ``sigmoid((logit - center) / temperature)``.

    Example:
        >>> to_unit(0.0), round(to_unit(2.0), 4), round(to_unit(2.0, temperature=2.0), 4)
        (0.5, 0.8808, 0.7311)
        >>> to_unit(-1000.0), to_unit(1000.0)
        (0.0, 1.0)
    """
    z = (logit - center) / temperature
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@component_factory("reward_model", paths=("reward_model",))
def reward_model_factory(name: str, settings: Mapping[str, Any]) -> Component:
    """Build the component a preset's ``{reward_model: PATH, ...}`` settings describe.

    Checks the settings without loading anything (a missing folder is a one-line
    :class:`mcq.DataError` (a ``UsageError``)); the model loads on the first score, or on the
    component's ``check`` (which commands run before any work).
    """
    _check_settings(name, settings)
    where = str(settings["reward_model"])
    return Component(
        name=name,
        description=f"learned reward model {where} (sigmoid of its score)",
        source="factory:reward_model",
        batch=score_batch,
        progress_chunk=8 * int(settings.get("batch_size", DEFAULTS["batch_size"])),
        check=lambda: _loads(settings),
    )


def _loads(settings: Mapping[str, Any]) -> None:
    """The preflight check: load the model (kept for the scoring that follows), so a model
    that is not a reward model is refused before any work (it raises, one line)."""
    options = {**DEFAULTS, **settings}
    load_reward_model(str(options["reward_model"]), options["device"], options["dtype"])


def score_batch(
    completions: Sequence[str], samples: Sequence[Sample], **settings: Any
) -> list[float | None]:
    """Score completions with the reward model named in ``settings`` (one value in [0, 1] each)."""
    options = {**DEFAULTS, **settings}
    if not completions:
        return []
    model, tokenizer, device = load_reward_model(
        str(options["reward_model"]), options["device"], options["dtype"]
    )
    texts = [
        reward_input(conversation(c, s), tokenizer)
        for c, s in zip(completions, samples, strict=True)
    ]
    logits = score_logits(
        model,
        tokenizer,
        texts,
        int(options["batch_size"]),
        int(options["max_length"]),
        device,
        _workers(options["workers"], device),
    )
    temperature, center = float(options["temperature"]), float(options["center"])
    return [to_unit(v, temperature, center) for v in logits]


def score_logits(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    batch_size: int,
    max_length: int,
    device: str,
    workers: int = 1,
) -> list[float]:
    """The model's raw score for each text (from :func:`reward_input`), in order.

    Texts of similar length share a batch (less padding); a text over ``max_length`` tokens
    loses its beginning, so the answer at its end is always read. With ``workers`` > 1 that
    many batches run at once, each on ``torch.get_num_threads() // workers`` threads (set for
    the call, then restored): on a small CPU this beats splitting every small matrix product
    across all cores (228 against 198 completions/s on 2 cores; benchmarks/README.md).
    """
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    # Tokenized here, in one thread: a fast tokenizer must not be shared across threads.
    batches = [
        tokenizer(
            [texts[i] for i in chunk],
            padding=True,
            truncation=True,
            max_length=max_length,
            add_special_tokens=False,
            return_tensors="pt",
        )
        for chunk in chunks
    ]

    def forward(batch: Any) -> list[float]:
        with torch.inference_mode():  # grad mode is per thread
            return model(**batch.to(device)).logits[:, 0].float().tolist()

    workers = max(1, min(workers, len(batches)))
    if workers == 1:
        results = [forward(b) for b in batches]
    else:
        from concurrent.futures import ThreadPoolExecutor

        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, threads // workers))
        try:
            with ThreadPoolExecutor(workers) as pool:
                results = list(pool.map(forward, batches))
        finally:
            torch.set_num_threads(threads)
    logits: list[float] = [0.0] * len(texts)
    for chunk, out in zip(chunks, results, strict=True):
        for i, value in zip(chunk, out, strict=True):
            logits[i] = value
    return logits


def _workers(setting: Any, device: str) -> int:
    """``auto``: one batch per CPU thread torch may use on a CPU, one at a time on a GPU."""
    if setting != "auto":
        return int(setting)
    if not device.startswith("cpu"):
        return 1
    import torch

    return max(1, torch.get_num_threads())


def load_reward_model(path: str, device: str = "auto", dtype: str = "auto") -> tuple[Any, Any, str]:
    """Load (once per path, device and dtype) a reward model, its tokenizer, and the device used.

    Raises:
        mcq.DataError: the folder or hub id cannot be loaded as a one-output sequence classifier.
    """
    device = _device(device)
    dtype = _dtype(device) if dtype == "auto" else dtype
    key = (path, device, dtype)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = (*_load(path, device, dtype), device)
    return _LOADED[key]


def _load(path: str, device: str, dtype: str) -> tuple[Any, Any]:
    from rewards.learned_loading import load_classifier

    model, tokenizer = load_classifier(path, dtype)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model.to(device).eval(), tokenizer


def _device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _dtype(device: str) -> str:
    """bfloat16 where the device computes it natively (a recent GPU; a CPU with AVX512-BF16 or
    AMX, where it is several times faster than float32), else float32."""
    import torch

    if device.startswith("cuda"):
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    if device == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        if any(getattr(torch.cpu, check, lambda: False)() for check in checks):
            return "bfloat16"
    return "float32"


def _check_settings(name: str, settings: Mapping[str, Any]) -> None:
    where = settings.get("reward_model")
    if not isinstance(where, str) or not where.strip():
        raise DataError(f"component {name!r}: reward_model must be a folder or a hub id")
    unknown = sorted(set(settings) - {"reward_model", *DEFAULTS})
    if unknown:
        known = ", ".join(["reward_model", *DEFAULTS])
        raise DataError(f"component {name!r}: unknown settings {unknown} (known: {known})")
    folder = Path(where).expanduser()
    if folder.exists():
        if not folder.is_dir() or not any(
            (folder / name).is_file() for name in ("config.json", "adapter_config.json")
        ):
            raise DataError(
                f"reward_model {where}: not a model folder (no config.json or adapter_config.json)"
            )
    elif not _HUB_ID.match(where):
        raise DataError(f"reward_model {where}: folder not found")
    for key in ("batch_size", "max_length"):
        value = settings.get(key, DEFAULTS[key])
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(f"component {name!r}: {key} must be a positive integer, not {value!r}")
    workers = settings.get("workers", "auto")
    if workers != "auto" and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise DataError(f"component {name!r}: workers must be 'auto' or a positive integer")
    temperature = settings.get("temperature", DEFAULTS["temperature"])
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or temperature <= 0
    ):
        raise DataError(f"component {name!r}: temperature must be a number > 0")
    if settings.get("dtype", "auto") not in _DTYPES:
        raise DataError(f"component {name!r}: dtype must be one of {', '.join(_DTYPES)}")
    center = settings.get("center", DEFAULTS["center"])
    if isinstance(center, bool) or not isinstance(center, int | float):
        raise DataError(f"component {name!r}: center must be a number")
