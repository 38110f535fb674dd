"""``python -m training check-data FILE``: the data-quality pass to run before any training.

Reports the row count, the balance of answer letters, question and reasoning length
statistics, questions that appear more than once, and every invalid row with its line number.
Exits 2 when the file has invalid rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mcq
from mcq.cli import command_parser
from mcq.errors import UsageError
from mcq.files import add_input_limit_argument, apply_input_arguments

__all__ = ["DataReport", "check_file", "format_report", "main", "make_parser"]

EPILOG = """\
examples:
  python -m training check-data --input assets/data/sample_train.tsv
  python -m training check-data --input data/train.tsv --tokenizer Qwen/Qwen2.5-7B-Instruct --json
exit codes: 0 clean, 2 invalid rows (each listed with its line) or an unreadable file.
"""


@dataclass
class DataReport:
    """What :func:`check_file` found in one file."""

    path: str
    kind: str
    valid_rows: int
    invalid: list[tuple[int, str]]
    answers: dict[str, int]
    question_chars: dict[str, float]
    reasoning_chars: dict[str, float]
    missing_reasoning: int
    duplicates: list[dict[str, Any]]
    """``{"question": text, "lines": [...]}`` for each question text found on several rows."""
    prompt_tokens: dict[str, float] = field(default_factory=dict)
    over_max_prompt: int = 0

    @property
    def rows(self) -> int:
        return self.valid_rows + len(self.invalid)


def check_file(
    path: str | Path,
    kind: str = "train",
    tokenizer: Any = None,
    max_prompt_length: int = 512,
    prompt: mcq.Prompt | str | None = None,
) -> DataReport:
    """Inspect ``path``; raises ``mcq.DataError`` only when no row can be read at all."""
    questions, problems = mcq.validate_file(path, kind=kind)
    answers = Counter(q.correct_answer for q in questions if q.correct_answer)
    reasoning = [len(q.reasoning) for q in questions if q.reasoning]

    by_text: dict[str, list[int]] = defaultdict(list)
    for q in questions:
        by_text[" ".join(q.question.split())].append(q.line or 0)
    duplicates = [
        {"question": text, "lines": lines} for text, lines in by_text.items() if len(lines) > 1
    ]

    report = DataReport(
        path=str(path),
        kind=kind,
        valid_rows=len(questions),
        invalid=sorted(problems),
        answers={letter: answers.get(letter, 0) for letter in mcq.LETTERS},
        question_chars=_stats([len(q.question) for q in questions]),
        reasoning_chars=_stats(reasoning),
        missing_reasoning=len(questions) - len(reasoning),
        duplicates=duplicates,
    )
    if tokenizer is not None:
        lengths = [
            len(
                tokenizer(mcq.render_prompt(q, tokenizer, prompt), add_special_tokens=False)[
                    "input_ids"
                ]
            )
            for q in questions
        ]
        report.prompt_tokens = _stats(lengths)
        report.over_max_prompt = sum(n > max_prompt_length for n in lengths)
    return report


def format_report(report: DataReport, max_prompt_length: int = 512) -> str:
    """The report as the text ``check-data`` prints."""
    lines = [
        f"{report.path}: {report.rows} rows ({report.valid_rows} valid, {len(report.invalid)} invalid)"
    ]
    total = sum(report.answers.values())
    if report.kind == "train" or total:
        balance = "  ".join(
            f"{letter} {count} ({count / total:.0%})" if total else f"{letter} 0"
            for letter, count in report.answers.items()
        )
        lines.append(f"answer balance: {balance}")
    lines.append("question length (chars): " + _fmt_stats(report.question_chars))
    reasoning = _fmt_stats(report.reasoning_chars) if report.reasoning_chars else "none"
    lines.append(
        f"reasoning length (chars): {reasoning}; {report.missing_reasoning} rows without reasoning"
    )
    if report.prompt_tokens:
        lines.append(
            f"prompt length (tokens): {_fmt_stats(report.prompt_tokens)}; "
            f"{report.over_max_prompt} over {max_prompt_length}"
        )
    lines.append(f"duplicate questions: {len(report.duplicates)}")
    for dup in report.duplicates:
        shown = dup["question"] if len(dup["question"]) <= 40 else dup["question"][:39] + "…"
        lines.append(f"  lines {', '.join(map(str, dup['lines']))}: {shown}")
    lines.append(f"invalid rows: {len(report.invalid)}")
    lines.extend(f"  line {line}: {reason}" for line, reason in report.invalid)
    return "\n".join(lines)


def make_parser(subparsers: Any | None = None) -> argparse.ArgumentParser:
    """The ``check-data`` parser; the file may also be given as the old positional argument.

    Example:
        >>> make_parser().parse_args(["data.tsv"]).file  # the old spelling
        'data.tsv'
    """
    parser = command_parser(
        subparsers,
        "check-data",
        help="row count, answer balance, lengths, duplicates and invalid rows of a data file",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
        epilog=EPILOG,
        prog="python -m training check-data",
    )
    parser.add_argument(
        "--input",
        dest="input",
        help="training data (or a test file with --kind test): TSV/CSV, JSON/JSONL, Parquet, "
        "a save_to_disk folder or hf:NAME[:CONFIG]:SPLIT",
    )
    parser.add_argument("file", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument(
        "--kind", choices=("train", "test"), default="train", help="file layout (default: train)"
    )
    parser.add_argument(
        "--tokenizer",
        metavar="MODEL",
        help="also count chat-prompt tokens with this model's tokenizer (hub id or folder)",
    )
    parser.add_argument(
        "--max-prompt-length",
        type=int,
        default=512,
        help="token limit to count prompts against (default 512)",
    )
    parser.add_argument(
        "--prompt",
        default="default",
        metavar="NAME|PATH",
        help="prompt variant the tokens are counted with (assets/prompts/ name or YAML path)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_input_limit_argument(parser)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Print the report; 2 when there are invalid rows."""
    path = _input_file(args)
    apply_input_arguments(args)
    prompt = mcq.load_prompt(args.prompt)  # a bad one is a DataError: one line, exit 2
    tokenizer = None
    if args.tokenizer:
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
        except OSError as err:
            raise UsageError(
                f"cannot load tokenizer {args.tokenizer}: {str(err).splitlines()[0]}"
            ) from None
    report = check_file(path, args.kind, tokenizer, args.max_prompt_length, prompt)
    if args.json:
        data = asdict(report) | {"rows": report.rows}
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(format_report(report, args.max_prompt_length))
    if report.invalid:
        sys.stdout.flush()  # the rows come first, then the one error line
        raise UsageError(f"{path}: {len(report.invalid)} invalid rows (listed above)")
    return 0


def _input_file(args: argparse.Namespace) -> str:
    if args.input and args.file and args.input != args.file:
        raise UsageError("give the data file once (--input FILE)")
    path = args.input or args.file
    if not path:
        raise UsageError("--input FILE is required (the training or test TSV/CSV)")
    return path


def _stats(values: list[int]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "min": min(values),
        "median": statistics.median(values),
        "mean": round(statistics.fmean(values), 1),
        "max": max(values),
    }


def _fmt_stats(stats: dict[str, float]) -> str:
    if not stats:
        return "no rows"
    return ", ".join(f"{key} {value:g}" for key, value in stats.items())
