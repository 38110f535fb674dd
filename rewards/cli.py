"""``python -m rewards``: score completion files, list components and presets, explain one text."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import mcq
from mcq.files import add_input_limit_argument, refuse_overwrite, set_input_limit

EPILOG = """\
examples:
  python -m rewards score --input outputs/detailed_results.csv --output scored.csv
  python -m rewards score --input assets/data/sample_train.tsv --preset seed
  python -m rewards list
  python -m rewards explain "答案：B\\n理由：這並非唯一的看法，各方可能有不同觀點。" --gold B

score reads JSONL ({"id", "completion", ...}), CSV/TSV with a completion or response column
(detailed_results.csv), or the training TSV, whose rows are scored as
"答案：{correct_answer}\\n理由：{reasoning}".
exit status: 0 ok, 2 bad input (one line on stderr), 1 failure.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m rewards``."""
    parser = argparse.ArgumentParser(
        prog="python -m rewards",
        description="Score model answers with zhongli's reward registry.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{score,list,explain}")

    p = sub.add_parser(
        "score",
        help="score a file of completions; print a summary, optionally write one row each",
        epilog="example: python -m rewards score --input completions.jsonl --output scored.csv",
    )
    p.add_argument("--input", "-i", required=True, help="JSONL, CSV/TSV or training TSV file")
    p.add_argument("--preset", "-p", default="default", help="preset name or YAML path (default)")
    p.add_argument(
        "--output", "-o", help="CSV to write: id, answer, one column per component, total"
    )
    add_input_limit_argument(p)

    sub.add_parser(
        "list",
        help="list reward components and presets",
        epilog="example: python -m rewards list",
    )

    p = sub.add_parser(
        "explain",
        help="score one text and show why",
        epilog='example: python -m rewards explain "答案：A\\n理由：……" --gold A',
    )
    p.add_argument("text", help="the completion (\\n in it is read as a newline)")
    p.add_argument("--gold", help="the correct letter, for the correctness component")
    p.add_argument("--preset", "-p", default="default", help="preset name or YAML path (default)")
    p.add_argument("--json", action="store_true", help="print the breakdown as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "score":
            return _score(args)
        if args.command == "list":
            return _list()
        return _explain(args)
    except mcq.DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1


def _score(args: argparse.Namespace) -> int:
    import rewards
    from rewards.io import load_completions, score_rows, write_csv

    set_input_limit(args.max_input_mb)
    if args.output:
        refuse_overwrite(args.output, [args.input])
        _check_output_file(args.output)
    preset = rewards.load_preset(args.preset)
    rows = load_completions(args.input)
    if not rows:
        raise mcq.DataError(f"{args.input}: no completions in the file")
    scored = score_rows(rows, preset, progress=True)
    if args.output:
        write_csv(scored, args.output)
    print(summary_table(scored, list(preset.weights), title=f"{args.input} · preset {preset.name}"))
    if args.output:
        print(f"wrote {len(scored):,} rows to {args.output}")
    return 0


def _check_output_file(output: str) -> None:
    """Refuse an ``--output`` that is a folder or sits under a missing folder or a file."""
    path = Path(output)
    if path.is_dir():
        raise mcq.DataError(
            f"--output {output}: is a directory; give a file name such as scored.csv"
        )
    parent = path.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise mcq.DataError(f"--output {output}: {parent} {what}")


def summarize(scored: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """Means per component (over applicable rows) and total, the letter distribution.

    Example:
        >>> s = summarize([{"answer": "A", "f": 1.0, "total": 1.0},
        ...                {"answer": None, "f": None, "total": 0.0}], ["f"])
        >>> s["means"]["f"], s["no_answer"], s["letters"]["A"]
        ((1.0, 1), 0.5, 1)
    """
    means: dict[str, tuple[float | None, int]] = {}
    for name in [*names, "total"]:
        values = [row[name] for row in scored if row.get(name) is not None]
        means[name] = (sum(values) / len(values) if values else None, len(values))
    letters = Counter(row.get("answer") for row in scored)
    return {
        "rows": len(scored),
        "means": means,
        "letters": {letter: letters.get(letter, 0) for letter in mcq.LETTERS},
        "no_answer": letters.get(None, 0) / len(scored) if scored else 0.0,
    }


def summary_table(scored: list[dict[str, Any]], names: list[str], title: str = "") -> str:
    """The summary ``score`` prints: component means, answer letters, share with no answer."""
    s = summarize(scored, names)
    n = s["rows"]
    lines = [f"{title} · {n:,} completions" if title else f"{n:,} completions", ""]
    lines.append(f"{'component':<14}{'mean':>8}{'scored':>10}")
    for name, (mean, count) in s["means"].items():
        shown = f"{mean:.3f}" if mean is not None else "n/a"
        lines.append(f"{name:<14}{shown:>8}{count:>10,}")
    lines += ["", f"{'answer':<14}{'count':>8}{'share':>10}"]
    for letter, count in s["letters"].items():
        lines.append(f"{letter:<14}{count:>8,}{count / n:>10.1%}")
    missing = round(s["no_answer"] * n)
    lines.append(f"{'(none)':<14}{missing:>8,}{s['no_answer']:>10.1%}")
    return "\n".join(lines)


def _list() -> int:
    import rewards

    print("components:")
    for comp in sorted(rewards.COMPONENTS.values(), key=lambda c: c.name):
        print(f"  {comp.name:<13} {comp.description}")
    print("\npresets:")
    for preset in rewards.list_presets():
        weights = ", ".join(f"{k} {v:g}" for k, v in preset.weights.items())
        print(f"  {preset.name:<13} {preset.description}")
        print(f"  {'':<13} weights: {weights}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    import rewards

    preset = rewards.load_preset(args.preset)
    text = args.text.replace("\\n", "\n")
    gold = args.gold.strip().upper() if args.gold else None
    if gold is not None and gold not in mcq.LETTERS:
        raise mcq.DataError(f"--gold {args.gold!r} is not one of A, B, C, D")
    breakdown = rewards.score(text, rewards.Sample(correct_answer=gold), preset)
    if args.json:
        print(json.dumps(_as_json(breakdown, preset.weights), ensure_ascii=False, indent=2))
        return 0
    print(
        f"preset {preset.name} · answer {breakdown.answer or '(none)'} "
        f"({breakdown.answer_rule}) · total {breakdown.total:.3f}"
    )
    print()
    print(f"{'component':<14}{'weight':>8}{'score':>8}")
    for name, value in breakdown.components.items():
        shown = "n/a" if value is None else f"{value:.3f}"
        print(f"{name:<14}{preset.weights[name]:>8g}{shown:>8}")
    for name, details in breakdown.details.items():
        print(f"\n{name}:")
        for key, value in details.items():
            if key == "terms":
                continue
            print(f"  {key}: {value}")
        for term in details.get("terms", []):
            flag = f" negated → counts as {term['effect']}" if term["negated"] else ""
            print(
                f"  term {term['term']!r} [{term['start']}:{term['end']}] {term['category']}{flag}"
            )
    return 0


def _as_json(breakdown: Any, weights: dict[str, float]) -> dict[str, Any]:
    return {
        "total": breakdown.total,
        "answer": breakdown.answer,
        "answer_rule": breakdown.answer_rule,
        "components": breakdown.components,
        "weights": weights,
        "details": breakdown.details,
    }
