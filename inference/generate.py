"""``python -m inference generate``: answer a test file and write a competition submission.

For every question: ask the model (``mcq.build_messages`` with the ``--prompt`` variant),
extract the letter (``mcq.extract_answer``), score the answer with a rewards preset, and, where
no letter can be extracted, ask again with the answer constrained to A-D
(``answer_source=constrained``).
``--samples N`` draws N answers and keeps the majority letter (self-consistency); a tie goes
to the letter whose best answer has the highest total reward.

Outputs in ``--output-dir``:

- ``submission.csv``: ``id,answer``, every input id once, in input order (written atomically);
- ``detailed_results.csv``: ``id, answer, answer_source, response, <components>, total,
  prompt_truncated`` (+ ``votes`` with ``--samples`` > 1). ``prompt_truncated`` is ``true``
  where the prompt was longer than the model's context minus ``--max-new-tokens`` and was
  shortened in the middle of the question (``inference.context``); the summary counts them.
  The file grows chunk by chunk while the run goes on; the finished file is rewritten
  atomically in input order;
- ``run.json``: the settings the results depend on, checked when a run is resumed.

``--part K/N`` answers only the K-th of N contiguous slices of the input (one machine's share
of a big test set): the folder is a normal output folder, except that its submission is named
``submission.part-K-of-N.csv`` (never mistaken for a whole one) and run.json records the part.
``python -m inference merge`` (:mod:`inference.merge`) checks and joins the N folders into one
submission.

Resuming: rerun the same command; ids already in ``detailed_results.csv`` are skipped. Chunks
are fixed slices of the input and every question's sampling seed comes from ``--seed`` and its
id, so a resumed run writes the same files as an uninterrupted one. A kill loses at most the
chunk in progress.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mcq
from inference.backends import Generation
from mcq import LETTERS, Question
from mcq.files import check_output_folder, refuse_overwrite

__all__ = [
    "BASE_COLUMNS",
    "UsageError",
    "add_arguments",
    "part_range",
    "question_seed",
    "read_detailed_results",
    "run",
    "write_submission",
]

SUBMISSION = "submission.csv"
DETAILED = "detailed_results.csv"
MANIFEST = "run.json"
SHARDS = ".shards"
STATS = "stats.json"

BASE_COLUMNS = ("id", "answer", "answer_source", "response")
#: Column after ``total``: "true" where the prompt was shortened to fit the model's context.
TRUNCATED = "prompt_truncated"
EXTRACTED, CONSTRAINED = "extracted", "constrained"
DEFAULT_SAMPLING_TEMPERATURE = 0.7

_UMASK = os.umask(0)
os.umask(_UMASK)

EPILOG = """\
examples:
  # merged model through vLLM, one greedy answer per question
  python -m inference generate --model assets/models/demo-grpo \\
      --input assets/data/sample_test.tsv --output-dir outputs/demo-grpo
  # base model + LoRA adapter, 5 sampled answers per question, majority vote
  python -m inference generate --model Qwen/Qwen2.5-7B-Instruct --adapter runs/grpo/adapter \\
      --input test.tsv --output-dir outputs/sc5 --samples 5 --temperature 0.7
  # only the letters: one constrained pick per question, no free text (fastest)
  python -m inference generate --model assets/models/demo-grpo --constrained \\
      --input test.tsv --output-dir outputs/letters
  # machine 2 of 3 answers the middle third; `python -m inference merge` joins the parts
  python -m inference generate --model assets/models/demo-grpo --part 2/3 \\
      --input test.tsv --output-dir outputs/part-2

Interrupted? Run the same command again: finished questions are skipped.
"""


class UsageError(Exception):
    """A mistake the user can fix (bad option, unusable output folder); one line, exit 2."""


# --------------------------------------------------------------------------- arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``generate`` options to ``parser``."""
    parser.add_argument(
        "--model",
        required=True,
        help="model folder or hub id (merged model, or the adapter's base)",
    )
    parser.add_argument("--adapter", help="PEFT LoRA adapter folder applied on top of --model")
    parser.add_argument(
        "--input", required=True, help="test file (TSV/CSV: id, question, option_A..option_D)"
    )
    parser.add_argument(
        "--output-dir", required=True, help="where submission.csv and detailed_results.csv go"
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "vllm", "transformers"),
        default="auto",
        help="generation backend; auto = vLLM when installed (default: auto)",
    )
    parser.add_argument(
        "--samples",
        type=_positive_int,
        default=1,
        help="answers drawn per question; >1 takes the majority letter (default: 1)",
    )
    parser.add_argument(
        "--temperature",
        type=_non_negative_float,
        default=None,
        help=f"sampling temperature (default: 0 = greedy with --samples 1, "
        f"{DEFAULT_SAMPLING_TEMPERATURE} with more samples)",
    )
    parser.add_argument(
        "--max-new-tokens",
        type=_positive_int,
        default=512,
        help="longest answer in tokens (default: 512)",
    )
    parser.add_argument(
        "--constrained",
        action="store_true",
        help="no free text: every answer is the model's pick when it may only write "
        "A-D after '答案：' (answer_source=constrained, response=the letter)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="base seed; each question samples with a seed made from it and its id (default: 0)",
    )
    parser.add_argument(
        "--preset",
        default="default",
        help="rewards preset for the score columns (default: default)",
    )
    parser.add_argument(
        "--prompt",
        default="default",
        metavar="NAME|PATH",
        help="prompt variant: a name in assets/prompts/ (default, fewshot) or a YAML file "
        "(default: default)",
    )
    parser.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=256,
        help="questions per batch and per checkpoint of detailed_results.csv (default: 256)",
    )
    parser.add_argument(
        "--tensor-parallel-size",
        type=_positive_int,
        default=1,
        help="vLLM: split each model over this many GPUs (default: 1)",
    )
    parser.add_argument(
        "--data-parallel-size",
        type=_positive_int,
        default=1,
        help="run this many engines, each on its own GPUs (x tensor-parallel-size), "
        "on interleaved chunks (default: 1)",
    )
    parser.add_argument(
        "--engine-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra engine argument, repeatable; VALUE is JSON or text, e.g. "
        "max_model_len=2048, gpu_memory_utilization=0.85, batch_size=32 (transformers)",
    )
    parser.add_argument(
        "--skip-invalid", action="store_true", help="drop invalid input rows instead of stopping"
    )
    parser.add_argument(
        "--part",
        type=_part,
        metavar="K/N",
        help="answer only the K-th (1..N) of N contiguous slices of the input, e.g. 2/4 on the "
        "second of four machines; join the folders with `python -m inference merge`",
    )
    parser.add_argument("--shard", help=argparse.SUPPRESS)  # "RANK/SIZE": a data-parallel worker


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _part(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected K/N such as 1/4, got {text!r}")
    k, n = int(match[1]), int(match[2])
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"K must be between 1 and N, got {k}/{n}")
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


def submission_name(part: str | None) -> str:
    """``submission.csv``, or ``submission.part-K-of-N.csv`` for one part of the input."""
    if part is None:
        return SUBMISSION
    k, n = part.split("/")
    return f"submission.part-{k}-of-{n}.csv"


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def parse_engine_args(items: Iterable[str]) -> dict[str, Any]:
    """Turn ``KEY=VALUE`` strings into keyword arguments (VALUE read as JSON when it parses)."""
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


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """Everything the results depend on (stored in run.json and checked on resume)."""

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
    #: "K/N" for a ``--part`` run (``input_fingerprint`` is still the whole input's), else None.
    part: str | None = None

    def manifest(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["engine_args"] = dict(self.engine_args)
        return data


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


def _model_ref(model: str) -> str:
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


def _adapter_ref(adapter: str | None) -> str | None:
    if adapter is None:
        return None
    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise UsageError(f"--adapter {adapter}: not a PEFT adapter folder (no adapter_config.json)")
    return str(path.resolve())


# --------------------------------------------------------------------------- files


def _format_score(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _csv_text(rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (never half a file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _append(path: Path, text: str) -> None:
    """Append ``text`` with one ``write`` and an fsync, so a kill leaves whole chunks."""
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_submission(path: str | os.PathLike[str], answers: Sequence[tuple[str, str]]) -> None:
    """Write ``id,answer`` rows atomically; every answer must be one of A-D."""
    bad = [(qid, a) for qid, a in answers if a not in LETTERS]
    if bad:
        raise ValueError(f"answer {bad[0][1]!r} for id {bad[0][0]!r} is not one of {LETTERS}")
    _write_atomic(Path(path), _csv_text([("id", "answer"), *answers]))


def read_detailed_results(path: Path, columns: Sequence[str]) -> tuple[dict[str, list[str]], bool]:
    """Read the rows of a (possibly interrupted) detailed_results.csv, keyed by id.

    Returns the complete rows (first occurrence of each id) and whether a torn last row (a
    write cut short) was dropped. Raises :class:`UsageError` when the file has other columns.
    """
    raw = path.read_text(encoding="utf-8")
    rows: list[list[str]] = []
    torn = False
    try:
        rows = list(csv.reader(io.StringIO(raw, newline=""), strict=True))
    except csv.Error:
        # An unterminated quote at the end: keep what parses before it.
        torn = True
        rows = []
        reader = csv.reader(io.StringIO(raw, newline=""), strict=True)
        try:
            for row in reader:
                rows.append(row)
        except csv.Error:
            pass
    if not rows:
        return {}, torn or bool(raw)
    if rows[0] != list(columns):
        raise UsageError(
            f"{path} has columns {','.join(rows[0])[:120]} but this run writes "
            f"{','.join(columns)[:120]}: use another --output-dir"
        )
    body = rows[1:]
    if body and (not raw.endswith("\n") or len(body[-1]) != len(columns)):
        body, torn = body[:-1], True
    results: dict[str, list[str]] = {}
    for row in body:
        if len(row) != len(columns):
            raise UsageError(
                f"{path}: a row has {len(row)} cells, expected {len(columns)}; use another --output-dir"
            )
        results.setdefault(row[0], row)
    return results, torn


# --------------------------------------------------------------------------- answering


@dataclass
class _Scored:
    text: str
    letter: str | None
    breakdown: Any


def _score(text: str, question: Question, preset: Any) -> Any:
    import rewards

    return rewards.score(text, rewards.Sample.from_question(question), preset=preset)


def _decide(samples: list[_Scored]) -> tuple[_Scored, str | None, str]:
    """Pick the answer: majority letter, ties by best total, then earliest sample.

    Returns the representative sample, its letter (None when no sample has one) and the
    ``votes`` summary.
    """
    counts = Counter(s.letter for s in samples if s.letter)
    none = sum(1 for s in samples if not s.letter)
    votes = ";".join(
        [f"{x}={counts[x]}" for x in LETTERS if counts[x]] + ([f"none={none}"] if none else [])
    )

    def best(candidates: list[_Scored]) -> _Scored:
        # Highest total; the earliest sample wins a tie (max keeps the first maximum).
        return max(candidates, key=lambda s: s.breakdown.total)

    if not counts:
        return best(samples), None, votes
    top = max(counts.values())
    tied = [x for x in LETTERS if counts[x] == top]
    winners = [best([s for s in samples if s.letter == x]) for x in tied]
    chosen = max(winners, key=lambda s: s.breakdown.total)
    return chosen, chosen.letter, votes


class _Answerer:
    """Answers chunks of questions with one backend and one preset."""

    def __init__(
        self,
        backend: Any,
        settings: Settings,
        preset: Any,
        components: list[str],
        prompt: mcq.Prompt,
    ):
        self.backend = backend
        self.settings = settings
        self.preset = preset
        self.prompt = prompt
        self.components = components
        self.generated_tokens = 0
        self.generation_seconds = 0.0

    def check_room(self) -> None:
        """Raise :class:`UsageError` when no question could fit beside the new tokens."""
        from inference.context import prompt_budget, shortest_prompt_tokens

        s = self.settings
        new_tokens = 0 if s.constrained else s.max_new_tokens
        budget = prompt_budget(self.backend, new_tokens)
        if budget is None:
            return
        needed = shortest_prompt_tokens(self.backend, self.prompt)
        if needed > budget:
            context = self.backend.max_model_len
            raise UsageError(
                f"the model's context is {context} tokens; with --max-new-tokens {new_tokens} "
                f"a prompt may take {budget}, but prompt {self.prompt.name!r} needs {needed} "
                "before any question: lower --max-new-tokens or raise the context "
                "(--engine-arg max_model_len=N)"
            )

    def rows(self, questions: list[Question]) -> list[list[str]]:
        from inference.context import fit_conversations

        s = self.settings
        conversations, truncated = fit_conversations(
            self.backend,
            questions,
            self.prompt,
            max_new_tokens=0 if s.constrained else s.max_new_tokens,
        )
        if hasattr(self.backend, "reset_prefix_cache"):
            # Every chunk starts from an empty prefix cache, resumed or not: same numerics.
            self.backend.reset_prefix_cache()
        started = time.perf_counter()
        if s.constrained:
            letters = self.backend.choose(conversations)
            generations = [[Generation(letter, 1)] for letter in letters]
        else:
            generations = self.backend.chat(
                conversations,
                temperature=s.temperature,
                max_new_tokens=s.max_new_tokens,
                n=s.samples,
                seed=[question_seed(s.seed, q.id) for q in questions],
            )
        self.generation_seconds += time.perf_counter() - started
        self.generated_tokens += sum(g.num_tokens for gens in generations for g in gens)

        decided = []
        for q, gens in zip(questions, generations, strict=True):
            scored = [
                _Scored(
                    g.text,
                    mcq.extract_answer(g.text)[0],
                    _score(g.text, q, self.preset),
                )
                for g in gens
            ]
            decided.append(_decide(scored))

        missing = [i for i, (_, letter, _) in enumerate(decided) if letter is None]
        constrained: dict[int, str] = {}
        if s.constrained:
            constrained = {i: generations[i][0].text for i in range(len(questions))}
        elif missing:
            picks = self.backend.choose([conversations[i] for i in missing])
            constrained = dict(zip(missing, picks, strict=True))

        rows = []
        for i, (q, (sample, letter, votes)) in enumerate(zip(questions, decided, strict=True)):
            source = CONSTRAINED if i in constrained else EXTRACTED
            answer = constrained.get(i, letter)
            row = [q.id, answer, source, sample.text]
            row += [
                _format_score(sample.breakdown.components.get(name)) for name in self.components
            ]
            row.append(_format_score(sample.breakdown.total))
            row.append("true" if truncated[i] else "false")
            if s.samples > 1:
                row.append(votes)
            rows.append(row)
        return rows


# --------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    """Run ``generate`` with parsed arguments; returns the exit code (2 = bad input).

    Raises :class:`UsageError` or :class:`mcq.DataError` for mistakes the user can fix; the
    CLI prints them as one line. Every check happens before anything is written.
    """
    plan = _plan(args)
    if args.shard:
        return _run_worker(args, plan)
    if args.data_parallel_size > 1 and plan.todo:
        return _run_data_parallel(args, plan)
    if plan.todo:
        answerer = _answerer(args, plan)
        answerer.check_room()  # before anything is written
        _prepare_output(plan)
        with _progress(plan) as bar:
            for chunk in plan.chunks():
                new_rows = answerer.rows(chunk)
                _append(plan.detailed, _csv_text(new_rows))
                for row in new_rows:
                    plan.done[row[0]] = row
                bar.update(len(chunk))
        plan.tokens, plan.seconds = answerer.generated_tokens, answerer.generation_seconds
    _finalize(plan)
    return 0


@dataclass
class _Plan:
    args: argparse.Namespace
    settings: Settings
    questions: list[Question]
    columns: list[str]
    components: list[str]
    preset: Any
    prompt: mcq.Prompt
    out: Path
    detailed: Path
    done: dict[str, list[str]]
    rank: int = 0
    size: int = 1
    tokens: int = 0
    seconds: float = 0.0

    @property
    def submission(self) -> Path:
        return self.out / submission_name(self.settings.part)

    @property
    def todo(self) -> list[Question]:
        return [q for q in self.questions if q.id not in self.done]

    def chunks(self) -> Iterable[list[Question]]:
        """Fixed input slices not done yet; a data-parallel worker takes every size-th one."""
        step = self.settings.chunk_size
        for index, start in enumerate(range(0, len(self.questions), step)):
            if index % self.size != self.rank:
                continue
            chunk = [q for q in self.questions[start : start + step] if q.id not in self.done]
            if chunk:
                yield chunk


def _plan(args: argparse.Namespace) -> _Plan:
    """Validate everything and read what an earlier run left; writes nothing."""
    import rewards

    if args.constrained and args.samples > 1:
        raise UsageError(
            "--constrained gives one pick per question; drop --samples or --constrained"
        )
    if args.samples > 1 and args.temperature == 0:
        raise UsageError("--samples > 1 needs --temperature above 0 (greedy samples are all alike)")
    from inference.backends import resolve_backend_name, vllm_available

    backend = resolve_backend_name(args.backend)
    if backend == "vllm" and not vllm_available():
        raise UsageError(
            "--backend vllm: vLLM is not installed (pip install vllm, or --backend transformers)"
        )
    if backend == "transformers" and args.tensor_parallel_size > 1:
        raise UsageError("--tensor-parallel-size needs --backend vllm")
    engine_args = parse_engine_args(args.engine_arg)  # reject malformed KEY=VALUE before any work
    model, adapter = _model_ref(args.model), _adapter_ref(args.adapter)
    weights_fp, tokenizer_fp = folder_fingerprints(model, adapter)

    questions = mcq.load_test(args.input, skip_invalid=args.skip_invalid)
    if not questions:
        raise UsageError(f"{args.input}: no questions")
    input_fingerprint = fingerprint(questions)
    if args.part:
        k, n = args.part
        if n > len(questions):
            raise UsageError(
                f"--part {k}/{n}: {args.input} has {len(questions)} questions, too few for "
                f"{n} parts; use at most {len(questions)}"
            )
        start, stop = part_range(len(questions), k, n)
        questions = questions[start:stop]
    try:
        preset = rewards.load_preset(args.preset)
    except (KeyError, ValueError, FileNotFoundError, OSError) as err:
        raise UsageError(f"--preset {args.preset}: {err}") from err
    components = list(preset.weights)
    try:
        prompt = mcq.load_prompt(args.prompt)
    except mcq.DataError as err:
        raise UsageError(f"--prompt {args.prompt}: {err}") from err
    temperature = args.temperature
    if temperature is None:
        temperature = DEFAULT_SAMPLING_TEMPERATURE if args.samples > 1 else 0.0
    settings = Settings(
        model=model,
        adapter=adapter,
        backend=backend,
        samples=args.samples,
        temperature=temperature,
        max_new_tokens=args.max_new_tokens,
        constrained=args.constrained,
        seed=args.seed,
        preset=preset.name,
        prompt=prompt.name,
        prompt_fingerprint=prompt.fingerprint,
        chunk_size=args.chunk_size,
        input_fingerprint=input_fingerprint,
        engine_args=tuple(sorted(engine_args.items())),
        weights_fingerprint=weights_fp,
        tokenizer_fingerprint=tokenizer_fp,
        part=part_label(args.part),
    )
    columns = [*BASE_COLUMNS, *components, "total", TRUNCATED]
    columns += ["votes"] if args.samples > 1 else []

    out = check_output_folder(args.output_dir, "--output-dir")
    for name in (submission_name(settings.part), DETAILED, MANIFEST):
        refuse_overwrite(out / name, [args.input])
    rank, size = 0, 1
    if args.shard:
        rank, size = (int(x) for x in args.shard.split("/"))
    plan = _Plan(
        args,
        settings,
        questions,
        columns,
        components,
        preset,
        prompt,
        out,
        out / DETAILED,
        {},
        rank=rank,
        size=size,
    )
    _check_manifest(out / MANIFEST, settings)

    ids = {q.id for q in questions}
    sources = [out / DETAILED]
    if not args.shard:
        sources += sorted((out / SHARDS).glob(f"*/{DETAILED}"))
    else:
        sources.append(_shard_dir(out, rank) / DETAILED)
    for source in sources:
        if source.is_file():
            _check_manifest(source.parent / MANIFEST, settings, required=True)
            rows, _ = read_detailed_results(source, columns)
            stray = [qid for qid in rows if qid not in ids]
            if stray:
                where = f"part {settings.part} of " if settings.part else ""
                raise UsageError(
                    f"{source} has results for ids not in {where}{args.input} "
                    f"(e.g. {stray[0]!r}): use another --output-dir"
                )
            for qid, row in rows.items():
                plan.done.setdefault(qid, row)
    return plan


def _check_manifest(path: Path, settings: Settings, *, required: bool = False) -> None:
    """Refuse to resume results that did not provably come from a run with ``settings``."""
    if not path.is_file():
        if required:
            raise UsageError(
                f"{path.parent} holds results but no {MANIFEST}, so nothing says which model "
                "and settings made them: use another --output-dir"
            )
        return
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"{path}: unreadable ({err}); use another --output-dir") from err
    detail = describe_changes(previous, settings.manifest())
    if detail:
        raise UsageError(
            f"{path.parent} holds results of a different run ({detail}): "
            "rerun with the same settings to resume, or use another --output-dir"
        )


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


def _prepare_output(plan: _Plan, folder: Path | None = None) -> Path:
    """Create the folder, run.json and a detailed results file with whole rows only."""
    folder = folder or plan.out
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        _write_atomic(
            manifest, json.dumps(plan.settings.manifest(), indent=2, ensure_ascii=False) + "\n"
        )
    detailed = folder / DETAILED
    if not detailed.is_file():
        _write_atomic(detailed, _csv_text([plan.columns]))
    else:
        rows, torn = read_detailed_results(detailed, plan.columns)
        if torn:  # a kill cut a chunk short: keep the whole rows before it
            _write_atomic(detailed, _csv_text([plan.columns, *rows.values()]))
    return detailed


def _answerer(args: argparse.Namespace, plan: _Plan) -> _Answerer:
    from inference.backends import get_backend

    s = plan.settings
    engine_kwargs = parse_engine_args(args.engine_arg)
    if args.tensor_parallel_size > 1:
        engine_kwargs["tensor_parallel_size"] = args.tensor_parallel_size
    backend = get_backend(s.model, adapter=s.adapter, backend=s.backend, **engine_kwargs)
    return _Answerer(backend, s, plan.preset, plan.components, plan.prompt)


def _progress(plan: _Plan) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=len(plan.questions),
        initial=len(plan.done),
        unit="q",
        desc="generate",
        dynamic_ncols=True,
    )


def _finalize(plan: _Plan) -> None:
    """Rewrite detailed results in input order, write the submission, print the summary."""
    _prepare_output(plan)
    missing = [q.id for q in plan.questions if q.id not in plan.done]
    if missing:
        raise RuntimeError(f"{len(missing)} questions have no result (first: {missing[0]})")
    ordered = [plan.done[q.id] for q in plan.questions]
    _write_atomic(plan.detailed, _csv_text([plan.columns, *ordered]))
    write_submission(plan.submission, [(row[0], row[1]) for row in ordered])
    shards = plan.out / SHARDS
    if shards.is_dir():
        shutil.rmtree(shards)
    print(_summary(plan, ordered))
    shortened = _shortened(plan, ordered)
    if shortened:
        print(
            f"warning: {shortened} of {len(ordered)} prompts were longer than the model's context "
            f"allows and were shortened in the middle (marked {mcq.CUT_MARK}); they have "
            f"{TRUNCATED}=true in {DETAILED}",
            file=sys.stderr,
        )


def _shortened(plan: _Plan, rows: list[list[str]]) -> int:
    column = plan.columns.index(TRUNCATED)
    return sum(row[column] == "true" for row in rows)


def _summary(plan: _Plan, rows: list[list[str]]) -> str:
    total = len(rows)
    letters = Counter(row[1] for row in rows)
    sources = Counter(row[2] for row in rows)
    lines = [
        f"wrote {plan.submission} and {plan.out / DETAILED}: {total} rows",
        "answers: " + "  ".join(f"{x} {letters[x]} ({letters[x] / total:.0%})" for x in LETTERS),
        f"extracted {sources[EXTRACTED]} ({sources[EXTRACTED] / total:.0%}), "
        f"constrained {sources[CONSTRAINED]} ({sources[CONSTRAINED] / total:.0%})",
        f"prompts shortened to fit the context: {_shortened(plan, rows)}",
    ]
    if plan.tokens:
        rate = plan.tokens / plan.seconds if plan.seconds else 0.0
        lines.append(f"generated {plan.tokens} tokens in {plan.seconds:.1f} s: {rate:.1f} tokens/s")
    else:
        lines.append("nothing left to generate (all ids were already in detailed_results.csv)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- data parallel


def _shard_dir(out: Path, rank: int) -> Path:
    return out / SHARDS / f"rank-{rank}"


def _run_worker(args: argparse.Namespace, plan: _Plan) -> int:
    """A data-parallel worker: answer chunks ``rank, rank+size, ...`` into its shard folder."""
    folder = _shard_dir(plan.out, plan.rank)
    detailed = _prepare_output(plan, folder)
    todo = list(plan.chunks())
    if not todo:
        return 0
    answerer = _answerer(args, plan)
    answerer.check_room()
    rows = 0
    for chunk in todo:
        _append(detailed, _csv_text(answerer.rows(chunk)))
        rows += len(chunk)
        stats = {
            "rows": rows,
            "tokens": answerer.generated_tokens,
            "seconds": answerer.generation_seconds,
        }
        _write_atomic(folder / STATS, json.dumps(stats))
    return 0


def _worker_argv(args: argparse.Namespace, rank: int, size: int) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "inference",
        "generate",
        "--model",
        args.model,
        "--input",
        args.input,
        "--output-dir",
        args.output_dir,
        "--backend",
        args.backend,
        "--samples",
        str(args.samples),
        "--max-new-tokens",
        str(args.max_new_tokens),
        "--seed",
        str(args.seed),
        "--preset",
        args.preset,
        "--prompt",
        args.prompt,
        "--chunk-size",
        str(args.chunk_size),
        "--tensor-parallel-size",
        str(args.tensor_parallel_size),
        "--shard",
        f"{rank}/{size}",
    ]
    if args.adapter:
        argv += ["--adapter", args.adapter]
    if args.part:
        argv += ["--part", part_label(args.part)]
    if args.temperature is not None:
        argv += ["--temperature", repr(args.temperature)]
    if args.constrained:
        argv.append("--constrained")
    if args.skip_invalid:
        argv.append("--skip-invalid")
    for item in args.engine_arg:
        argv += ["--engine-arg", item]
    return argv


def _device_groups(size: int, per_worker: int) -> list[dict[str, str]]:
    """Environment of each worker: its own ``per_worker`` GPUs when CUDA is there."""
    from inference.backends import on_cuda

    if not on_cuda():
        return [{} for _ in range(size)]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible:
        devices = [d.strip() for d in visible.split(",") if d.strip()]
    else:
        import torch

        devices = [str(i) for i in range(torch.cuda.device_count())]
    if len(devices) < size * per_worker:
        raise UsageError(
            f"--data-parallel-size {size} x --tensor-parallel-size {per_worker} needs "
            f"{size * per_worker} GPUs, {len(devices)} visible"
        )
    return [
        {"CUDA_VISIBLE_DEVICES": ",".join(devices[r * per_worker : (r + 1) * per_worker])}
        for r in range(size)
    ]


def _run_data_parallel(args: argparse.Namespace, plan: _Plan) -> int:
    """Start one worker process per engine, show their progress, then merge their shards."""
    size = args.data_parallel_size
    groups = _device_groups(size, args.tensor_parallel_size)
    _prepare_output(plan)
    for rank in range(size):  # counts of an earlier, interrupted run are already in plan.done
        (_shard_dir(plan.out, rank) / STATS).unlink(missing_ok=True)
    env = dict(os.environ)
    repo_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo_root, env.get("PYTHONPATH")) if p)
    workers = [
        subprocess.Popen(
            _worker_argv(args, rank, size), env={**env, **groups[rank]}, cwd=os.getcwd()
        )
        for rank in range(size)
    ]
    failed: list[tuple[int, int]] = []
    try:
        with _progress(plan) as bar:
            while any(w.poll() is None for w in workers):
                time.sleep(1.0)
                bar.n = len(plan.done) + _worker_rows(plan)
                bar.refresh()
            bar.n = len(plan.done) + _worker_rows(plan)
            bar.refresh()
        failed = [(rank, w.returncode) for rank, w in enumerate(workers) if w.returncode != 0]
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
        for w in workers:
            w.wait()
    for rank in range(size):
        folder = _shard_dir(plan.out, rank)
        if (folder / DETAILED).is_file():
            rows, _ = read_detailed_results(folder / DETAILED, plan.columns)
            for qid, row in rows.items():
                plan.done.setdefault(qid, row)
        if (folder / STATS).is_file():
            stats = json.loads((folder / STATS).read_text())
            plan.tokens += stats["tokens"]
            plan.seconds = max(plan.seconds, stats["seconds"])
    if failed:
        # Keep everything finished so far in the main file; the shards stay for the rerun.
        ordered = [plan.done[q.id] for q in plan.questions if q.id in plan.done]
        _write_atomic(plan.detailed, _csv_text([plan.columns, *ordered]))
        rank, code = failed[0]
        print(
            f"error: data-parallel worker {rank} failed (exit {code}); rerun to resume",
            file=sys.stderr,
        )
        return 1
    _finalize(plan)
    return 0


def _worker_rows(plan: _Plan) -> int:
    """Rows the workers of this run have written so far (from their stats.json)."""
    count = 0
    for rank in range(plan.args.data_parallel_size):
        try:
            stats = json.loads((_shard_dir(plan.out, rank) / STATS).read_text())
        except (OSError, json.JSONDecodeError):
            continue
        count += stats.get("rows", 0)
    return count
