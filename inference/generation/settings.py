"""What a generation run is asked to do (:class:`GenerationSettings`) and what it recorded.

:class:`GenerationSettings` is the one request type: the command line builds it from flags that
its fields declare (:func:`setting`), ``evals demo-report`` and the benchmarks build one in code,
data-parallel workers read one back from JSON. :func:`resolve` checks it once and makes it
concrete (model folder absolute, backend and temperature chosen); :func:`run_manifest` is the
resolved settings plus the fingerprints of the input, prompt, weights and tokenizer: exactly the
keys ``run.json`` holds, compared when a run is resumed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference.generation.fingerprints import folder_fingerprints
from mcq.errors import UsageError

if TYPE_CHECKING:
    from mcq import Prompt

__all__ = [
    "DEFAULT_SAMPLING_TEMPERATURE",
    "GenerationSettings",
    "adapter_ref",
    "bounds_error",
    "flag_of",
    "model_ref",
    "parse_engine_args",
    "parse_part",
    "part_range",
    "recorded_defaults",
    "resolve",
    "run_manifest",
    "setting",
]

DEFAULT_SAMPLING_TEMPERATURE = 0.7


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    flag: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    recorded: bool = True,
    sampling: bool = False,
    **argparse_kwargs: Any,
) -> Any:
    """A :class:`GenerationSettings` field that also declares its command-line flag.

    ``help`` is the flag's help; ``flag`` defaults to ``--`` + the name with dashes; the bounds
    (``above`` exclusive) are checked on the flag and by :func:`resolve`; ``recorded=False``
    leaves it out of run.json (the results do not depend on it); ``sampling=True`` passes it by
    name to the backend's ``chat``; the rest goes to ``add_argument`` (``type``, ``choices``...).
    """
    metadata = {
        "help": help,
        "flag": flag,
        "bounds": (minimum, maximum, above),
        "recorded": recorded,
        "sampling": sampling,
        "argparse": argparse_kwargs,
    }
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=metadata)
    return field(default=default, metadata=metadata)


def flag_of(item: dataclasses.Field) -> str:
    """The command-line flag of a settings field, e.g. ``--max-new-tokens``."""
    return item.metadata.get("flag") or "--" + item.name.replace("_", "-")


def bounds_error(item: dataclasses.Field, value: Any) -> str | None:
    """Why ``value`` is out of the field's bounds (``"must be at least 1, got 0"``), or None."""
    minimum, maximum, above = item.metadata.get("bounds", (None, None, None))
    if value is None:
        return None
    if above is not None and value <= above:
        return f"must be above {above}, got {value}"
    if minimum is not None and value < minimum:
        return f"must be at least {minimum}, got {value}"
    if maximum is not None and value > maximum:
        return f"must be at most {maximum}, got {value}"
    return None


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


@dataclass(frozen=True)
class GenerationSettings:
    """Everything ``inference.generate`` needs besides the questions and the output folder.

    Each field declares its flag and help (see :func:`setting`); ``python -m inference generate
    --help`` lists them.

    Example:
        >>> s = GenerationSettings(model="Qwen/Qwen2.5-7B-Instruct", samples=5, part=(2, 3))
        >>> GenerationSettings.from_dict(json.loads(json.dumps(s.to_dict()))) == s
        True
        >>> s.to_dict()["part"]
        '2/3'
    """

    model: str = setting(
        help="model folder or hub id (merged model, or the adapter's base)", required=True
    )
    adapter: str | None = setting(None, help="PEFT LoRA adapter folder applied on top of --model")
    backend: str = setting(
        "auto",
        help="generation backend; auto = vLLM when installed (default: %(default)s)",
        choices=("auto", "vllm", "transformers"),
    )
    samples: int = setting(
        1,
        help="answers drawn per question; >1 takes the majority letter (default: %(default)s)",
        type=int,
        minimum=1,
    )
    temperature: float | None = setting(
        None,
        help=f"sampling temperature (default: 0 = greedy with --samples 1, "
        f"{DEFAULT_SAMPLING_TEMPERATURE} with more samples)",
        type=float,
        minimum=0,
        sampling=True,
    )
    top_p: float = setting(
        1.0,
        help="nucleus sampling: draw only from the likeliest tokens whose probabilities add up "
        "to this share (default: %(default)s = all tokens)",
        type=float,
        above=0,
        maximum=1,
        sampling=True,
    )
    max_new_tokens: int = setting(
        512, help="longest answer in tokens (default: %(default)s)", type=int, minimum=1
    )
    constrained: bool = setting(
        False,
        help="no free text: every answer is the model's pick when it may only write "
        "A-D after '答案：' (answer_source=constrained, response=the letter)",
        action="store_true",
    )
    seed: int = setting(
        0,
        help="base seed; each question samples with a seed made from it and its id "
        "(default: %(default)s)",
        type=int,
    )
    preset: str = setting(
        "default", help="rewards preset for the score columns (default: %(default)s)"
    )
    prompt: str = setting(
        "default",
        help="prompt variant: a name in assets/prompts/ (default, fewshot) or a YAML file "
        "(default: %(default)s)",
        metavar="NAME|PATH",
    )
    chunk_size: int = setting(
        256,
        help="questions per batch and per checkpoint of detailed_results.csv "
        "(default: %(default)s)",
        type=int,
        minimum=1,
    )
    engine_args: Mapping[str, Any] = setting(
        {},
        flag="--engine-arg",
        help="extra engine argument, repeatable; VALUE is JSON or text, e.g. "
        "max_model_len=2048, gpu_memory_utilization=0.85, batch_size=32 (transformers)",
        action="append",
        metavar="KEY=VALUE",
    )
    tensor_parallel_size: int = setting(
        1,
        help="vLLM: split each model over this many GPUs (default: %(default)s)",
        type=int,
        minimum=1,
        recorded=False,
    )
    data_parallel_size: int = setting(
        1,
        help="run this many engines, each on its own GPUs (x tensor-parallel-size), "
        "on interleaved chunks (default: %(default)s)",
        type=int,
        minimum=1,
        recorded=False,
    )
    part: tuple[int, int] | None = setting(
        None,
        help="answer only the K-th (1..N) of N contiguous slices of the input, e.g. 2/4 on the "
        "second of four machines; join the folders with `python -m inference merge`",
        type=parse_part,
        metavar="K/N",
    )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (``part`` as ``"K/N"``), read back by :meth:`from_dict`."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["engine_args"] = dict(sorted(dict(self.engine_args).items()))
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

    def sampling_kwargs(self) -> dict[str, Any]:
        """The settings a backend's ``chat`` takes by name (``temperature``, ``top_p``)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.metadata.get("sampling")
        }


def resolve(settings: GenerationSettings) -> GenerationSettings:
    """Check the settings that need no questions and make them concrete; raises UsageError.

    The backend is resolved (``auto`` -> ``vllm`` or ``transformers``), the temperature chosen
    (0 for one sample, else :data:`DEFAULT_SAMPLING_TEMPERATURE`), the model and adapter made
    absolute when they are local folders. Resolving resolved settings changes nothing.
    """
    from inference.backends import resolve_backend_name, vllm_available

    for item in dataclasses.fields(settings):
        problem = bounds_error(item, getattr(settings, item.name))
        if problem:
            raise UsageError(f"{flag_of(item)} {problem}")
    if settings.constrained and settings.samples > 1:
        raise UsageError(
            "--constrained gives one pick per question; drop --samples or --constrained"
        )
    if settings.samples > 1 and settings.temperature == 0:
        raise UsageError("--samples > 1 needs --temperature above 0 (greedy samples are all alike)")
    try:
        backend = resolve_backend_name(settings.backend)
    except ValueError as err:
        raise UsageError(f"--backend: {err}") from None
    if backend == "vllm" and not vllm_available():
        raise UsageError(
            "--backend vllm: vLLM is not installed (pip install vllm, or --backend transformers)"
        )
    if backend == "transformers" and settings.tensor_parallel_size > 1:
        raise UsageError("--tensor-parallel-size needs --backend vllm")
    temperature = settings.temperature
    if temperature is None:
        temperature = DEFAULT_SAMPLING_TEMPERATURE if settings.samples > 1 else 0.0
    return dataclasses.replace(
        settings,
        backend=backend,
        temperature=temperature,
        model=model_ref(settings.model),
        adapter=adapter_ref(settings.adapter),
    )


def run_manifest(
    settings: GenerationSettings, *, preset: str, prompt: Prompt, input_fingerprint: str
) -> dict[str, Any]:
    """The run.json settings of a resolved run: its recorded settings plus fingerprints.

    ``preset`` is the loaded preset's name; ``input_fingerprint`` is the whole input's, also
    for a part. The weights and tokenizer fingerprints come from :func:`folder_fingerprints`.
    """
    weights, tokenizer = folder_fingerprints(settings.model, settings.adapter)
    data = settings.to_dict()
    recorded = {
        f.name: data[f.name] for f in dataclasses.fields(settings) if f.metadata["recorded"]
    }
    return recorded | {
        "preset": preset,
        "prompt": prompt.name,
        "prompt_fingerprint": prompt.fingerprint,
        "input_fingerprint": input_fingerprint,
        "weights_fingerprint": weights,
        "tokenizer_fingerprint": tokenizer,
    }


def recorded_defaults() -> dict[str, Any]:
    """The default of every recorded setting: what a run.json written before it existed meant."""
    defaults = GenerationSettings(model="").to_dict()
    return {
        f.name: defaults[f.name]
        for f in dataclasses.fields(GenerationSettings)
        if f.metadata["recorded"] and f.name != "model"
    }


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
