"""What a generation run is asked to do (:class:`GenerationSettings`) and what it recorded.

:class:`GenerationSettings` is the typed request: the command line builds one from its flags,
``evals demo-report`` and the benchmarks build one in code, data-parallel workers read one
back from JSON. :class:`RunManifest` is the same request resolved (model folder made absolute,
temperature chosen, preset and prompt loaded) plus the fingerprints of the input, the weights
and the tokenizer: exactly the keys ``run.json`` holds, checked when a run is resumed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcq import LETTERS, Question
from mcq.errors import UsageError

__all__ = [
    "DEFAULT_SAMPLING_TEMPERATURE",
    "GenerationSettings",
    "RunManifest",
    "describe_changes",
    "fingerprint",
    "folder_fingerprints",
    "parse_engine_args",
    "parse_part",
    "part_range",
    "question_seed",
]

DEFAULT_SAMPLING_TEMPERATURE = 0.7


@dataclass(frozen=True)
class GenerationSettings:
    """Everything ``inference.generate`` needs besides the questions and the output folder.

    Attributes:
        model: A model folder or hub id (a merged model, or the adapter's base).
        adapter: A PEFT LoRA adapter folder applied on top of ``model``.
        backend: ``"vllm"``, ``"transformers"`` or ``"auto"`` (vLLM when installed).
        samples: Answers drawn per question; more than one keeps the majority letter.
        temperature: Sampling temperature; None = 0 (greedy) for one sample, else 0.7.
        max_new_tokens: Longest answer in tokens.
        constrained: Only the letter: the model's pick when it may write A-D after ``答案：``.
        seed: Base seed; each question samples with a seed made from it and its id.
        preset: Rewards preset (name or YAML path) for the score columns.
        prompt: Prompt variant (name in assets/prompts/ or YAML path).
        chunk_size: Questions per batch and per checkpoint of detailed_results.csv.
        engine_args: Extra engine keyword arguments (``max_model_len``, ``batch_size``, ...).
        tensor_parallel_size: vLLM: split each model over this many GPUs.
        data_parallel_size: Engines run at once, each in its own process on its own GPUs.
        part: ``(k, n)``: answer only the k-th (1-based) of n contiguous slices of the input.

    Example:
        >>> s = GenerationSettings(model="Qwen/Qwen2.5-7B-Instruct", samples=5, part=(2, 3))
        >>> GenerationSettings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
        True
        >>> s.to_dict()["part"]
        '2/3'
    """

    model: str
    adapter: str | None = None
    backend: str = "auto"
    samples: int = 1
    temperature: float | None = None
    max_new_tokens: int = 512
    constrained: bool = False
    seed: int = 0
    preset: str = "default"
    prompt: str = "default"
    chunk_size: int = 256
    engine_args: Mapping[str, Any] = field(default_factory=dict)
    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    part: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (``part`` as ``"K/N"``), read back by :meth:`from_dict`."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["engine_args"] = dict(self.engine_args)
        data["part"] = part_label(self.part)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationSettings:
        """Settings from :meth:`to_dict` output or a ``run.json`` (other keys are ignored).

        A run.json gives the settings of the run that wrote it (without the parallel sizes,
        which do not change the results).
        """
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if isinstance(values.get("part"), str):
            values["part"] = parse_part(values["part"])
        elif values.get("part") is not None:
            values["part"] = tuple(values["part"])
        return cls(**values)

    def engine_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`inference.backends.get_backend`."""
        kwargs = dict(self.engine_args)
        if self.tensor_parallel_size > 1:
            kwargs["tensor_parallel_size"] = self.tensor_parallel_size
        return kwargs


@dataclass(frozen=True)
class RunManifest:
    """The resolved settings the results depend on: the contents of ``run.json``."""

    model: str
    adapter: str | None
    backend: str
    samples: int
    temperature: float
    max_new_tokens: int
    constrained: bool
    seed: int
    preset: str
    prompt: str
    prompt_fingerprint: str
    chunk_size: int
    input_fingerprint: str
    engine_args: tuple[tuple[str, Any], ...] = ()
    weights_fingerprint: str = ""
    tokenizer_fingerprint: str = ""
    #: "K/N" for a part run (``input_fingerprint`` is still the whole input's), else None.
    part: str | None = None

    def manifest(self) -> dict[str, Any]:
        """The run.json dictionary (``engine_args`` as an object)."""
        data = dict(self.__dict__)
        data["engine_args"] = dict(self.engine_args)
        return data


def parse_engine_args(items: Iterable[str]) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` strings into keyword arguments (VALUE read as JSON when it parses).

    Example:
        >>> parse_engine_args(["max_model_len=2048", "dtype=bfloat16"])
        {'max_model_len': 2048, 'dtype': 'bfloat16'}
    """
    kwargs: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise UsageError(f"--engine-arg {item!r}: expected KEY=VALUE, e.g. max_model_len=2048")
        try:
            kwargs[key] = json.loads(raw)
        except json.JSONDecodeError:
            kwargs[key] = raw
    return kwargs


def parse_part(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(k, n)``; ValueError unless ``1 <= k <= n``.

    Example:
        >>> parse_part(" 2/4 ")
        (2, 4)
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"expected K/N such as 1/4, got {text!r}")
    k, n = int(match[1]), int(match[2])
    if not 1 <= k <= n:
        raise ValueError(f"K must be between 1 and N, got {k}/{n}")
    return k, n


def part_range(count: int, k: int, n: int) -> tuple[int, int]:
    """``(start, stop)`` of part ``k`` (1-based) of ``n`` contiguous parts of ``count`` items.

    The parts cover every item once, in order, and their sizes differ by at most one.

    Example:
        >>> [part_range(10, k, 3) for k in (1, 2, 3)]
        [(0, 3), (3, 6), (6, 10)]
    """
    return (k - 1) * count // n, k * count // n


def part_label(part: tuple[int, int] | None) -> str | None:
    """``"K/N"`` as run.json records it, or None for a whole run."""
    return None if part is None else f"{part[0]}/{part[1]}"


#: Files whose bytes decide how text becomes tokens and back.
_TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "chat_template.json",
    "vocab.json", "merges.txt", "tokenizer.model", "special_tokens_map.json",
    "added_tokens.json", "generation_config.json",
)  # fmt: skip
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


def folder_fingerprints(*folders: str | None) -> tuple[str, str]:
    """``(weights, tokenizer)`` fingerprints of local model/adapter folders, for resume checks.

    Weights: the bytes of ``config.json``/``adapter_config.json`` and every weight file's name,
    size and modification time (hashing gigabytes of weights would take minutes). Tokenizer:
    the bytes of the tokenizer and chat-template files. A hub id counts as its name only.
    """
    weights, tokenizer = hashlib.sha256(), hashlib.sha256()
    for ref in folders:
        if ref is None:
            continue
        folder = Path(ref)
        if not folder.is_dir():
            weights.update(f"hub:{ref}\x1e".encode())
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            if path.name in ("config.json", "adapter_config.json"):
                weights.update(path.name.encode() + b"\x1f" + path.read_bytes() + b"\x1e")
            elif path.suffix in _WEIGHT_SUFFIXES:
                info = path.stat()
                weights.update(f"{path.name}\x1f{info.st_size}\x1f{info.st_mtime_ns}\x1e".encode())
            elif path.name in _TOKENIZER_FILES:
                tokenizer.update(path.name.encode() + b"\x1f" + path.read_bytes() + b"\x1e")
    return weights.hexdigest()[:16], tokenizer.hexdigest()[:16]


def question_seed(seed: int, question_id: str) -> int:
    """The sampling seed of one question: from the run's seed and the id, not the batch.

    Example:
        >>> question_seed(0, "q001") == question_seed(0, "q001") != question_seed(1, "q001")
        True
    """
    digest = hashlib.sha256(f"{seed}\x00{question_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 2


def fingerprint(questions: Sequence[Question]) -> str:
    """A hash of the questions' ids, texts and options: resuming needs the same input."""
    h = hashlib.sha256()
    for q in questions:
        for part in (q.id, q.question, *(q.options.get(letter, "") for letter in LETTERS)):
            h.update(part.encode())
            h.update(b"\x1f")
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def model_ref(model: str) -> str:
    """Absolute path for a local folder, else the hub id as given; usage error if neither."""
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"--model {model}: not a model folder")
        if not (path / "config.json").is_file():
            raise UsageError(
                f"--model {model}: no config.json in the folder (not a Hugging Face model; "
                "for a LoRA adapter pass --model BASE --adapter FOLDER)"
            )
        return str(path.resolve())
    if re.fullmatch(r"[\w.-]+/[\w.-]+", model) and not model.startswith("."):
        return model  # a hub id such as Qwen/Qwen2.5-7B-Instruct
    raise UsageError(
        f"--model {model}: no such folder (give a model folder or a hub id like Qwen/Qwen2.5-7B-Instruct)"
    )


def adapter_ref(adapter: str | None) -> str | None:
    """Absolute path of a PEFT adapter folder (None stays None); usage error if it is not one."""
    if adapter is None:
        return None
    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise UsageError(f"--adapter {adapter}: not a PEFT adapter folder (no adapter_config.json)")
    return str(path.resolve())


def describe_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], keys: Iterable[str] | None = None
) -> str:
    """``"key old -> new"`` for up to three of ``keys`` (default: ``new``'s) whose values differ.

    Empty when none differs. Example:
        >>> describe_changes({"seed": 7, "model": "m"}, {"seed": 8, "model": "m"})
        'seed 7 -> 8'
    """
    keys = list(new if keys is None else keys)
    changed = [k for k in keys if old.get(k) != new.get(k)]
    return ", ".join(
        f"{k} {_short_value(old.get(k))} -> {_short_value(new.get(k))}" for k in changed[:3]
    )


def _short_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
