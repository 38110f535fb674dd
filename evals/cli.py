"""Command line: ``python -m evals {score,compare,sample,neutrality,probe,demo-report}``.

Exit codes: 0 ok, 2 bad input (one line on stderr), 1 failure.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from mcq.files import add_input_limit_argument, set_input_limit, terminal_safe

__all__ = ["main"]

log = logging.getLogger("evals")

EPILOG = """\
examples:
  python -m evals score --input runs/tuned/detailed_results.csv \\
      --gold assets/data/sample_test_gold.csv --out runs/report-tuned
  python -m evals compare --a runs/base/detailed_results.csv --b runs/tuned/detailed_results.csv \\
      --gold assets/data/sample_test_gold.csv --labels base,tuned --out runs/compare
  python -m evals sample runs/tuned/detailed_results.csv -n 5 --seed 1
  python -m evals neutrality --input runs/tuned/detailed_results.csv --top 15
  python -m evals probe --preset my-preset.yaml --strict   # degenerate answers vs a good one
  python -m evals demo-report          # regenerates docs/report-demo/ from the demo models
"""


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with one subcommand per report."""
    parser = argparse.ArgumentParser(
        prog="python -m evals",
        description="Score completions, compare two systems, and audit answers with the zhongli rewards.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    score = add(
        "score",
        "Score one completions file and write scores.csv, report.md and report.html.",
        "python -m evals score --input runs/tuned/detailed_results.csv "
        "--gold assets/data/sample_test_gold.csv --out runs/report-tuned",
    )
    score.add_argument(
        "--input",
        required=True,
        type=Path,
        help="completions: JSONL, CSV, TSV or detailed_results.csv",
    )
    _common(score)
    score.add_argument(
        "--out", required=True, type=Path, help="folder for the report (created if needed)"
    )
    score.add_argument("--label", help="name of the system in the report (default: from the file)")
    score.add_argument("--md-only", action="store_true", help=_MD_ONLY)

    compare = add(
        "compare",
        "Compare two systems on the same questions (paired bootstrap, McNemar, win/tie/loss).",
        "python -m evals compare --a runs/base/detailed_results.csv --b runs/tuned/detailed_results.csv "
        "--gold assets/data/sample_test_gold.csv --labels base,tuned --out runs/compare",
    )
    compare.add_argument(
        "--a", required=True, type=Path, help="results of system A (e.g. the base model)"
    )
    compare.add_argument(
        "--b", required=True, type=Path, help="results of system B (e.g. the tuned model)"
    )
    _common(compare)
    compare.add_argument(
        "--out", required=True, type=Path, help="folder for the report (created if needed)"
    )
    compare.add_argument("--labels", help="names for A and B in the report, e.g. base,tuned")
    compare.add_argument(
        "--top", type=int, default=10, help="questions listed where they disagree most (default 10)"
    )
    compare.add_argument(
        "--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)"
    )
    compare.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    compare.add_argument("--md-only", action="store_true", help=_MD_ONLY)

    sample = add(
        "sample",
        "Print random rows (question, answer, response, reward breakdown) for a spot check.",
        "python -m evals sample runs/tuned/detailed_results.csv -n 5 --seed 1",
    )
    sample.add_argument("results", type=Path, help="completions or detailed_results.csv")
    sample.add_argument("-n", type=int, default=10, help="rows to print (default 10)")
    sample.add_argument(
        "--seed", type=int, default=None, help="random seed for a repeatable sample"
    )
    _common(sample)

    neutrality = add(
        "neutrality",
        "List the neutral/absolute/loaded lexicon terms found, most frequent first, with contexts.",
        "python -m evals neutrality --input runs/tuned/detailed_results.csv --top 15",
    )
    neutrality.add_argument(
        "--input", required=True, type=Path, help="completions or detailed_results.csv"
    )
    neutrality.add_argument("--top", type=int, default=20, help="terms to list (default 20)")
    neutrality.add_argument(
        "--examples", type=int, default=3, help="example contexts per term (default 3)"
    )
    neutrality.add_argument("--preset", default="default", help="reward preset (default: default)")
    add_input_limit_argument(neutrality)

    probe = add(
        "probe",
        "Score built-in degenerate answers (hedge spam, pasted question, bare letter, ...) against "
        "a good answer to the same questions; list those within --margin of it.",
        "python -m evals probe --preset my-preset.yaml -n 10 --strict",
    )
    probe.add_argument("--preset", default="default", help="reward preset name or YAML path")
    probe.add_argument(
        "--questions",
        type=Path,
        help="test file (id, question, option_A..D) to probe with "
        "(default assets/data/sample_test.tsv)",
    )
    probe.add_argument(
        "--gold",
        type=Path,
        help="gold answers for --questions (default assets/data/sample_test_gold.csv when "
        "--questions is not given, else the test file's correct_answer column)",
    )
    probe.add_argument("-n", type=int, default=5, help="questions to use, first n (default 5)")
    probe.add_argument(
        "--margin",
        type=float,
        default=0.1,
        help="a probe fails when its total is less than this below the good answer's (default 0.1)",
    )
    probe.add_argument(
        "--strict", action="store_true", help="exit 1 when any probe comes within the margin"
    )
    probe.add_argument("--json", action="store_true", help="print the results as JSON")
    add_input_limit_argument(probe)

    demo = add(
        "demo-report",
        "Generate answers with the demo models and write the example comparison report.",
        "python -m evals demo-report --out docs/report-demo",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("docs/report-demo"),
        help="report folder (default docs/report-demo)",
    )
    demo.add_argument(
        "--work",
        type=Path,
        default=Path("runs/demo-report"),
        help="folder for the generated results",
    )
    demo.add_argument("--input", type=Path, default=Path("assets/data/sample_test.tsv"))
    demo.add_argument("--gold", type=Path, default=Path("assets/data/sample_test_gold.csv"))
    demo.add_argument("--base", type=Path, default=Path("assets/models/demo-base"))
    demo.add_argument("--tuned", type=Path, default=Path("assets/models/demo-grpo"))
    demo.add_argument(
        "--backend", default="auto", help="inference backend (auto, vllm, transformers)"
    )
    demo.add_argument(
        "--max-new-tokens", type=int, default=256, help="answer length limit (default 256)"
    )
    demo.add_argument("--seed", type=int, default=0, help="generation seed (default 0)")
    demo.add_argument(
        "--prompt",
        default="default",
        metavar="NAME|PATH",
        help="prompt variant for both models (assets/prompts/ name or YAML path; default default)",
    )
    demo.add_argument(
        "--reuse", action="store_true", help="reuse results already in --work instead of generating"
    )
    return parser


_MD_ONLY = "write report.md and its PNGs only (no HTML, CSV or JSON), e.g. to commit them"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset", default="default", help="reward preset name or YAML path (default: default)"
    )
    parser.add_argument(
        "--questions",
        type=Path,
        help="test file (id, question, option_A..D) whose question text the report shows",
    )
    parser.add_argument(
        "--gold",
        type=Path,
        help="gold answers: CSV/TSV id,correct_answer or a test file with answers",
    )
    add_input_limit_argument(parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="evals: %(message)s")
    from evals.data import EvalInputError
    from mcq import DataError

    out = getattr(args, "out", None)
    try:
        if out is not None and out.exists() and not out.is_dir():
            raise EvalInputError(f"--out {out}: exists and is not a folder")
        if out is not None and args.command != "demo-report":
            _refuse_inputs_inside(out, args)
        if getattr(args, "max_input_mb", None) is not None:
            set_input_limit(args.max_input_mb)
        return _COMMANDS[args.command](args)
    except (EvalInputError, DataError, FileExistsError) as err:
        print(f"evals {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, permission denied: not the input's fault
        print(f"evals {args.command}: failed: {err}", file=sys.stderr)
        return 1


def _refuse_inputs_inside(out: Path, args: argparse.Namespace) -> None:
    """The report folder is replaced as a whole: an input inside it would be lost."""
    from evals.data import EvalInputError

    folder = out.resolve()
    for name in ("input", "a", "b", "results", "gold", "questions"):
        given = getattr(args, name, None)
        if isinstance(given, Path) and given.resolve().is_relative_to(folder):
            raise EvalInputError(
                f"--out {out}: holds the input {given}, which the report would overwrite; "
                "choose another folder"
            )


def _references(args: argparse.Namespace) -> dict:
    """Keyword arguments for ``score_file`` from ``--gold`` and ``--questions``."""
    from evals.data import load_gold, load_questions

    return {
        "preset": args.preset,
        "gold": load_gold(args.gold) if args.gold else None,
        "gold_source": str(args.gold) if args.gold else None,
        "questions": load_questions(args.questions) if args.questions else None,
    }


def cmd_score(args: argparse.Namespace) -> int:
    """``score``: one file → scores.csv, summary.json, report.md/html, PNGs."""
    from evals.data import score_file
    from evals.metrics import fmt, pct
    from evals.report import staged_folder
    from evals.score_report import write_score_report

    run = score_file(args.input, label=args.label, **_references(args))
    with staged_folder(args.out) as folder:
        summary = write_score_report(run, folder, md_only=args.md_only)
    acc = summary["accuracy"]
    line = f"{len(run.rows)} completions, mean total {fmt(summary['components']['total']['mean'])}"
    if acc:
        line += f", accuracy {pct(acc['value'])}"
    print(f"{line}; report: {args.out / 'report.md'}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``compare``: two files with the same ids → paired report."""
    from evals.compare import write_compare_report
    from evals.data import EvalInputError, check_same_ids, read_completions, score_file
    from evals.metrics import fmt, signed
    from evals.report import staged_folder

    labels = _labels(args.labels, args.a, args.b)
    if args.top < 0 or args.resamples < 1:
        raise EvalInputError("--top must be ≥ 0 and --resamples ≥ 1")
    rows_a, rows_b = read_completions(args.a), read_completions(args.b)
    check_same_ids(rows_a, rows_b)  # before scoring: a mismatch is reported at once
    refs = _references(args)
    run_a = score_file(rows_a, label=labels[0], **refs)
    run_b = score_file(rows_b, label=labels[1], **refs)
    with staged_folder(args.out) as folder:
        summary = write_compare_report(
            run_a,
            run_b,
            folder,
            resamples=args.resamples,
            seed=args.seed,
            top=args.top,
            html=not args.md_only,
            extras=not args.md_only,
        )
    total = summary["components"]["total"]
    print(
        f"{summary['questions']} questions; mean total {labels[0]} {fmt(total['mean_a'][0])}, "
        f"{labels[1]} {fmt(total['mean_b'][0])} (Δ {signed(total['delta'])}); report: {args.out / 'report.md'}"
    )
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """``sample``: print n random scored rows."""
    from evals.audit import format_sample, pick_sample
    from evals.data import score_file

    run = score_file(args.results, **_references(args))
    sys.stdout.write(
        terminal_safe(format_sample(pick_sample(run, args.n, args.seed), run.components))
    )
    return 0


def cmd_neutrality(args: argparse.Namespace) -> int:
    """``neutrality``: lexicon terms found, most frequent first."""
    from evals.audit import neutrality_terms, render_terms
    from evals.data import EvalInputError, score_file

    if args.top < 1 or args.examples < 0:
        raise EvalInputError("--top must be ≥ 1 and --examples ≥ 0")
    run = score_file(args.input, preset=args.preset)
    uses = neutrality_terms(run, examples=args.examples)
    sys.stdout.write(terminal_safe(render_terms(uses, args.top, len(run.rows))))
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    """``probe``: degenerate answers vs a good one; exit 1 with --strict when any comes close."""
    import json

    from evals.data import EvalInputError, _load_preset
    from evals.probe import DEFAULT_GOLD, DEFAULT_QUESTIONS, load_samples, render_table, run_probes

    if not 0.0 <= args.margin <= 1.0:
        raise EvalInputError(f"--margin must be between 0 and 1 (got {args.margin:g})")
    if args.n < 1:
        raise EvalInputError(f"-n must be at least 1 (got {args.n})")
    for flag, path in (("--questions", args.questions), ("--gold", args.gold)):
        if path is not None and not path.is_file():
            raise EvalInputError(f"{flag} {path}: no such file")
    preset = _load_preset(args.preset)
    gold = args.gold or (DEFAULT_GOLD if args.questions is None else None)
    samples = load_samples(args.questions or DEFAULT_QUESTIONS, gold, args.n)
    good_total, results = run_probes(samples, preset, args.margin)
    close = [r.probe for r in results if r.within]
    if args.json:
        payload = {
            "preset": preset.name,
            "margin": args.margin,
            "questions": len(samples),
            "good_total": good_total,
            "probes": [r.to_dict() for r in results],
            "within_margin": close,
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(terminal_safe(render_table(preset.name, good_total, results, args.margin)))
    return 1 if args.strict and close else 0


def cmd_demo_report(args: argparse.Namespace) -> int:
    """``demo-report``: generate with both demo models, then compare into ``--out``."""
    from evals.demo import build_demo_report

    build_demo_report(args)
    return 0


def _labels(text: str | None, a: Path, b: Path) -> tuple[str, str]:
    from evals.data import EvalInputError, default_label

    if text:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or not all(parts):
            raise EvalInputError(
                f"--labels needs two names separated by a comma, e.g. base,tuned (got {text!r})"
            )
        return parts[0], parts[1]
    la, lb = default_label(a), default_label(b)
    return (la, lb) if la != lb else ("A", "B")


_COMMANDS = {
    "score": cmd_score,
    "compare": cmd_compare,
    "sample": cmd_sample,
    "neutrality": cmd_neutrality,
    "probe": cmd_probe,
    "demo-report": cmd_demo_report,
}
