"""Flags and checks that several ``python -m evals`` commands share.

Example:
    >>> import argparse
    >>> p = argparse.ArgumentParser()
    >>> add_output_dir(p, help="report folder")
    >>> p.parse_args(["--out", "r"]).output_dir  # the old spelling still works
    PosixPath('r')
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcq.errors import UsageError
from mcq.files import add_input_limit_argument, apply_input_arguments, check_output_folder

__all__ = [
    "MD_ONLY",
    "add_output_dir",
    "add_references",
    "prepare",
    "references",
    "report_folder",
]

MD_ONLY = "write report.md and its PNGs only (no HTML, CSV or JSON), e.g. to commit them"

#: The flags whose files a report folder must not hold (the folder is replaced as a whole).
INPUT_FLAGS = ("input", "a", "b", "gold", "questions", "pairs")


def add_output_dir(
    parser: argparse.ArgumentParser, *, help: str, default: Path | None = None
) -> None:
    """``--output-dir`` (the house spelling; required unless ``default``), ``--out`` a hidden alias."""
    group = parser.add_mutually_exclusive_group(required=default is None)
    group.add_argument("--output-dir", dest="output_dir", type=Path, default=default, help=help)
    group.add_argument("--out", dest="output_dir", type=Path, help=argparse.SUPPRESS)


def add_references(
    parser: argparse.ArgumentParser,
    *,
    questions: str = "test file (id, question, option_A..D) whose question text the report shows",
    gold: str = "gold answers: CSV/TSV id,correct_answer or a test file with answers",
) -> None:
    """``--preset``, ``--questions``, ``--gold`` (``questions`` and ``gold``: their help) and the
    input size limit."""
    parser.add_argument(
        "--preset", default="default", help="reward preset name or YAML path (default: default)"
    )
    parser.add_argument("--questions", type=Path, help=questions)
    parser.add_argument("--gold", type=Path, help=gold)
    add_input_limit_argument(parser)


def prepare(args: argparse.Namespace) -> None:
    """Apply ``--max-input-mb``/``--encoding`` and refuse a report folder that cannot be one."""
    apply_input_arguments(args)
    out = getattr(args, "output_dir", None)
    if out is None:
        return
    check_output_folder(out, "--output-dir")
    folder = out.resolve()
    for name in INPUT_FLAGS:
        given = getattr(args, name, None)
        if isinstance(given, Path) and given.resolve().is_relative_to(folder):
            raise UsageError(
                f"--output-dir {out}: holds the input {given}, which the report would overwrite; "
                "choose another folder"
            )


def report_folder(out: Path, write: Callable[[Path], Any]) -> Any:
    """Call ``write(folder)`` on a staged folder swapped in for ``out``; returns its result.

    A folder of someone else's files is a user error (exit 2), not a crash.
    """
    from evals.report import staged_folder

    try:
        with staged_folder(out) as folder:
            return write(folder)
    except FileExistsError as err:
        raise UsageError(str(err).replace("--out ", "--output-dir ", 1)) from None


def references(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for :func:`evals.data.score_file` from ``--gold`` and ``--questions``."""
    from evals.data import load_gold, load_questions

    return {
        "preset": args.preset,
        "gold": load_gold(args.gold) if args.gold else None,
        "gold_source": str(args.gold) if args.gold else None,
        "questions": load_questions(args.questions) if args.questions else None,
    }
