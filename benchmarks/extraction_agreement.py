"""How ``mcq.extract_answer`` reads real model answers, against a benchmark's own parser.

Reads a JSONL file of model answers with the letters the benchmark's parser took from each
(``completion`` and ``benchmark_extraction``, a list of letters, as in the project's shared
GAOKAO-Bench GPT-4 sample) and sorts every answer into:

- ``agree``: the same single letter, or no letter on both sides;
- ``ambiguous, benchmark took several``: we find several letters offered (rule
  ``ambiguous``) where the benchmark also took more than one;
- ``differ``: everything else, broken down by how (we say ambiguous and the benchmark took
  one letter, we find no letter, the letters differ, ...).

It prints a small table with a few example ids per row; ``--show`` prints the end of each
answer that differs, to see why::

    python benchmarks/extraction_agreement.py
    python benchmarks/extraction_agreement.py ../shared/data/gaokao_history_gpt4.jsonl --show
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as `python benchmarks/extraction_agreement.py`
    sys.path.insert(0, str(ROOT))

import mcq  # noqa: E402

DEFAULT_PATH = ROOT.parent / "shared" / "data" / "gaokao_history_gpt4.jsonl"
AGREE = "agree"
BOTH_SEVERAL = "ambiguous, benchmark took several"
EXAMPLES = 3


def classify(letter: str | None, rule: str, benchmark: list[str]) -> str:
    """The table row one answer belongs in.

    Example:
        >>> classify("B", "marker", ["B"]), classify(None, "ambiguous", ["A", "C"])
        ('agree', 'ambiguous, benchmark took several')
        >>> classify(None, "ambiguous", ["D"])
        'differ: we ambiguous, benchmark one letter'
    """
    if len(benchmark) > 1:
        return (
            BOTH_SEVERAL
            if rule == "ambiguous"
            else f"differ: we {letter or rule}, benchmark several"
        )
    theirs = benchmark[0] if benchmark else None
    if letter == theirs:
        return AGREE
    if rule == "ambiguous":
        return "differ: we ambiguous, benchmark one letter"
    if letter is None:
        return "differ: we no letter, benchmark one letter"
    if theirs is None:
        return "differ: we a letter, benchmark none"
    return "differ: different letters"


def read_rows(path: Path) -> tuple[list[dict], int]:
    """The usable rows of a JSONL file and the number of lines skipped as unusable."""
    rows, skipped = [], 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                skipped += 1
                continue
            letters = row.get("benchmark_extraction") if isinstance(row, dict) else None
            if not isinstance(row, dict) or not isinstance(letters, list):
                skipped += 1
                continue
            rows.append(row)
    return rows, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=DEFAULT_PATH,
        help=f"JSONL with completion and benchmark_extraction (default {DEFAULT_PATH})",
    )
    parser.add_argument(
        "--show", action="store_true", help="print the end of each answer that differs"
    )
    args = parser.parse_args(argv)
    try:
        rows, skipped = read_rows(args.path)
    except (OSError, UnicodeDecodeError) as err:
        print(f"extraction_agreement: cannot read {args.path} ({err})", file=sys.stderr)
        return 2
    if not rows:
        print(f"extraction_agreement: no usable rows in {args.path}", file=sys.stderr)
        return 2

    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        letter, rule = mcq.extract_answer(row.get("completion"))
        benchmark = [str(x) for x in row["benchmark_extraction"]]
        row["_ours"] = f"{letter or '-'} ({rule})"
        groups[classify(letter, rule, benchmark)].append(row)

    total = len(rows)
    order = [AGREE, BOTH_SEVERAL] + sorted(k for k in groups if k not in (AGREE, BOTH_SEVERAL))
    print(
        f"{args.path.name}: {total} answers"
        + (f", {skipped} unusable lines skipped" if skipped else "")
    )
    print(f"| {'category':<44} | {'n':>4} | {'share':>6} | examples")
    print(f"|{'-' * 46}|{'-' * 6}|{'-' * 8}|{'-' * 10}")
    for key in order:
        found = groups.get(key, [])
        ids = ", ".join(str(r.get("id", "?")) for r in found[:EXAMPLES])
        print(f"| {key:<44} | {len(found):>4} | {len(found) / total:>6.1%} | {ids}")

    if args.show:
        for key in order:
            if key == AGREE:
                continue
            for row in groups.get(key, []):
                tail = str(row.get("completion", ""))[-120:].replace("\n", " ⏎ ")
                print(
                    f"\n[{key}] {row.get('id')}: ours {row['_ours']}, "
                    f"benchmark {row['benchmark_extraction']}\n  …{tail}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
