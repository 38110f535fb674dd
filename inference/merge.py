"""``python -m inference merge``: join the ``--part K/N`` folders of one test file into a submission.

A big test set can be spread across machines: machine k runs ``python -m inference generate
... --part k/N`` (the k-th of N contiguous slices of the input), the N output folders are
copied to one place, and ``merge`` checks them and writes one submission:

- every folder's run.json must come from the same settings (model and weights fingerprint,
  adapter, backend, prompt, preset, seed, sampling, the whole input's fingerprint ...) with
  only the part number differing, and the input must be the one given with ``--input``;
- every input id must appear exactly once across the parts (missing and duplicated ids are
  named, with the part they belong to);
- ``submission.csv`` (every id once, input order, A-D), ``detailed_results.csv`` (the parts'
  rows unchanged, in input order) and ``run.json`` (the shared settings, ``part`` null, plus
  ``merged_parts``) are each written atomically, the submission last.

The merged folder is what one whole run with the same settings leaves, so ``generate`` with
those settings and without ``--part`` accepts it as finished.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mcq
from inference.generation.fingerprints import fingerprint
from inference.generation.results import (
    DETAILED,
    MANIFEST,
    PROVENANCE,
    SUBMISSION,
    csv_text,
    describe_changes,
    read_detailed_results,
    write_manifest,
    write_submission,
)
from inference.generation.settings import part_range
from mcq import LETTERS, Question
from mcq.cli import command_parser
from mcq.errors import UsageError
from mcq.files import check_output_folder, refuse_overwrite, write_atomic

__all__ = ["add_arguments", "main", "make_parser"]

HELP = "join the --part K/N folders of one test file into one submission.csv"

EPILOG = """\
example (a test file spread across two machines):
  # on machine 1
  python -m inference generate --model M --input test.tsv --output-dir part-1 --part 1/2
  # on machine 2 (same command but the part and the folder)
  python -m inference generate --model M --input test.tsv --output-dir part-2 --part 2/2
  # copy part-2/ to machine 1, then
  python -m inference merge --input test.tsv --parts part-1 part-2 --output-dir outputs/final

Refused in one line (exit 2): parts made with other settings or from another input, a missing
or unfinished part, an id in two parts.
"""

#: run.json keys written by merge, not by generate: left out when parts are compared.
MERGED_PARTS = "merged_parts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``merge`` options to ``parser``."""
    parser.add_argument(
        "--input", required=True, help="the test file every part was made from (TSV/CSV)"
    )
    parser.add_argument(
        "--parts",
        required=True,
        nargs="+",
        metavar="DIR",
        help="the output folders of `generate --part K/N`, one per part, in any order",
    )
    parser.add_argument(
        "--output-dir", required=True, help="where the merged submission.csv and the rest go"
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="drop invalid input rows, as the parts were made with --skip-invalid",
    )


@dataclass
class _Part:
    folder: Path
    manifest: dict[str, Any]
    label: str  # "K/N"
    columns: list[str]
    rows: dict[str, list[str]]

    @property
    def count(self) -> int:
        return int(self.label.split("/")[1])


def make_parser(subparsers: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
    """The ``merge`` parser: stand-alone, or a subcommand of ``subparsers``."""
    parser = command_parser(
        subparsers,
        "merge",
        help=HELP,
        description="Join the --part K/N output folders of one test file into one submission.",
        epilog=EPILOG,
        prog="python -m inference merge",
    )
    add_arguments(parser)
    parser.set_defaults(func=main)
    return parser


def main(args: argparse.Namespace) -> int:
    """Run ``merge`` with parsed arguments; returns the exit code.

    Raises :class:`mcq.errors.UsageError` (or :class:`mcq.DataError`) for mistakes the user
    can fix; nothing is written until every check has passed.
    """
    questions = mcq.load_test(args.input, skip_invalid=args.skip_invalid)
    if not questions:
        raise UsageError(f"{args.input}: no questions")
    parts = [_read_part(Path(folder)) for folder in args.parts]
    _check_same_run(parts, fingerprint(questions), args.input)
    rows = _check_ids(parts, questions, args.input)

    out = check_output_folder(args.output_dir, "--output-dir")
    inputs = [args.input, *(p.folder / name for p in parts for name in (DETAILED, MANIFEST))]
    for name in (SUBMISSION, DETAILED, MANIFEST):
        refuse_overwrite(out / name, inputs)
    own = (MERGED_PARTS, PROVENANCE)  # not compared: a part made elsewhere may differ there
    manifest = {key: value for key, value in parts[0].manifest.items() if key not in own}
    manifest["part"] = None
    _check_output_manifest(out / MANIFEST, manifest)
    manifest[PROVENANCE] = parts[0].manifest.get(PROVENANCE)  # each part's is in its entry
    manifest[MERGED_PARTS] = [
        {"part": p.label, "folder": str(p.folder.resolve()), PROVENANCE: p.manifest.get(PROVENANCE)}
        for p in sorted(parts, key=lambda p: int(p.label.split("/")[0]))
    ]

    out.mkdir(parents=True, exist_ok=True)
    write_manifest(out / MANIFEST, manifest)
    write_atomic(out / DETAILED, csv_text([parts[0].columns, *rows]))
    write_submission(out / SUBMISSION, [(row[0], row[1]) for row in rows])
    print(
        f"merged {len(parts)} parts: wrote {out / SUBMISSION} and {out / DETAILED}: "
        f"{len(rows)} rows"
    )
    return 0


def _read_part(folder: Path) -> _Part:
    """One part folder's run.json and finished rows; usage error if it is not a part's output."""
    manifest_path, detailed = folder / MANIFEST, folder / DETAILED
    if not manifest_path.is_file() or not detailed.is_file():
        raise UsageError(
            f"--parts {folder}: no {MANIFEST} and {DETAILED} there (not an output folder of "
            "`inference generate --part K/N`)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{manifest_path}: unreadable ({err})") from err
    if not isinstance(manifest, dict):
        raise UsageError(f"{manifest_path}: not a run.json of `inference generate`")
    label = manifest.get("part")
    if not isinstance(label, str):
        raise UsageError(
            f"--parts {folder}: not made with --part K/N (its run covers the whole input, "
            "so it needs no merge)"
        )
    try:
        with detailed.open(encoding="utf-8", newline="") as f:
            columns = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UsageError(f"{detailed}: unreadable ({err})") from err
    rows, torn = read_detailed_results(detailed, columns)
    if torn:
        raise UsageError(
            f"--parts {folder}: part {label} was interrupted ({DETAILED} ends in a half-written "
            "row); rerun its generate command to finish it"
        )
    return _Part(folder, manifest, label, columns, rows)


def _check_same_run(parts: list[_Part], input_fingerprint: str, input_path: str) -> None:
    """Refuse parts made from another input, with other settings, or split another way."""
    first = parts[0]
    for part in parts:
        if part.manifest.get("input_fingerprint") != input_fingerprint:
            raise UsageError(
                f"--parts {part.folder}: made from another input than {input_path} "
                "(input_fingerprint differs); give the test file the parts answered"
            )
        if part.count != first.count:
            raise UsageError(
                f"--parts {part.folder} is part {part.label} but {first.folder} is part "
                f"{first.label}: every part must come from the same --part K/N split"
            )
        ignored = {"part", MERGED_PARTS, PROVENANCE}
        keys = [k for k in first.manifest if k not in ignored]
        keys += [k for k in part.manifest if k not in ignored and k not in first.manifest]
        detail = describe_changes(first.manifest, part.manifest, keys)
        if detail:
            raise UsageError(
                f"--parts {part.folder} was made with other settings than {first.folder} "
                f"({detail}); merge only parts of one generate command"
            )
        if part.columns != first.columns:
            raise UsageError(
                f"--parts {part.folder}: {DETAILED} has other columns than {first.folder}'s"
            )


def _check_ids(parts: list[_Part], questions: list[Question], input_path: str) -> list[list[str]]:
    """Every input id in exactly one part, answers A-D; returns the rows in input order."""
    where: dict[str, list[_Part]] = defaultdict(list)
    for part in parts:
        for qid in part.rows:
            where[qid].append(part)
    known = {q.id for q in questions}
    stray = [qid for qid in where if qid not in known]
    if stray:
        raise UsageError(
            f"--parts {where[stray[0]][0].folder} has results for ids not in {input_path} "
            f"(e.g. {stray[0]!r})"
        )
    count = parts[0].count
    problems = []
    missing = [i for i, q in enumerate(questions) if q.id not in where]
    if missing:
        labels = sorted({_part_of(i, len(questions), count) for i in missing})
        problems.append(
            f"{len(missing)} ids are in no part ({_examples([questions[i].id for i in missing])})"
            f": part {', '.join(labels)} is missing or unfinished"
        )
    doubled = [q.id for q in questions if len(where.get(q.id, ())) > 1]
    if doubled:
        folders = " and ".join(str(p.folder) for p in where[doubled[0]])
        problems.append(
            f"{len(doubled)} ids are in more than one part ({_examples(doubled)}; "
            f"{doubled[0]} in {folders}): give each part once"
        )
    if problems:
        raise UsageError("; ".join(problems))
    rows = [where[q.id][0].rows[q.id] for q in questions]
    bad = next((row for row in rows if row[1] not in LETTERS), None)
    if bad is not None:
        raise UsageError(
            f"--parts {where[bad[0]][0].folder}: id {bad[0]!r} has answer {bad[1]!r}, not one "
            f"of {'/'.join(LETTERS)}; rerun that part"
        )
    return rows


def _part_of(index: int, total: int, count: int) -> str:
    """``"K/N"`` of the part that holds the question at ``index`` of the input."""
    k = next(k for k in range(1, count + 1) if index < part_range(total, k, count)[1])
    return f"{k}/{count}"


def _examples(ids: list[str], limit: int = 3) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (", ..." if len(ids) > limit else "")


def _check_output_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Refuse an output folder that holds results of another run (a re-merge is fine)."""
    if not path.is_file():
        return
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{path}: unreadable ({err}); use another --output-dir") from err
    if not isinstance(previous, dict) or any(previous.get(k) != v for k, v in manifest.items()):
        raise UsageError(
            f"{path.parent} holds results of a different run: use another --output-dir"
        )
