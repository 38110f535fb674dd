"""``python -m evals score``: one system's scores, accuracy, letters and weakest answers."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from evals import plots
from evals.data import ScoredRow, ScoredRun
from evals.metrics import accuracy, ambiguous_count, column, fmt, pct, rows_to_csv, short
from evals.report import Report, write_atomic
from evals.stats import describe, letter_skew

__all__ = ["LOWEST_SHOWN", "describe_run", "details_text", "write_score_report"]

#: How many lowest-scoring completions the report shows in full.
LOWEST_SHOWN = 5
LETTERS = ("A", "B", "C", "D")


def describe_run(run: ScoredRun) -> dict[str, Any]:
    """Every number the score report shows, as plain data (also written to summary.json)."""
    names = [*run.components, "total"]
    stats = {name: describe(column(run, name)).__dict__ for name in names}
    acc = accuracy(run.rows)
    submitted = [row.submitted for row in run.rows]
    gold = [row.gold for row in run.rows] if run.has_gold else None
    skew = letter_skew(submitted, gold, letters=LETTERS)
    no_answer = sum(1 for row in run.rows if row.answer is None)
    from_file = sum(1 for row in run.rows if row.answer is None and row.submitted is not None)
    lowest = sorted(run.rows, key=lambda row: row.total)[:LOWEST_SHOWN]
    return {
        "input": run.path,
        "preset": run.preset,
        "weights": run.weights,
        "rows": len(run.rows),
        "gold_source": run.gold_source,
        "components": stats,
        "accuracy": None
        if acc is None
        else {"correct": acc.correct, "n": acc.n, "value": acc.value, "ci95": [acc.low, acc.high]},
        "letters": {
            "answers": skew.counts,
            "gold": dict(Counter(g for g in gold if g)) if gold else None,
            "expected_share": skew.expected,
            "top_letter": skew.top_letter,
            "top_share": skew.top_share,
            "chi2": skew.chi2,
            "p_value": skew.p_value,
            "skewed": skew.skewed,
            "reason": skew.reason,
        },
        "no_answer": {
            "count": no_answer,
            "share": no_answer / len(run.rows),
            "ambiguous": ambiguous_count(run.rows),
            "submitted_anyway": from_file,
        },
        "answer_rules": dict(Counter(row.answer_rule for row in run.rows).most_common()),
        "lowest": [row.id for row in lowest],
    }


def write_score_report(
    run: ScoredRun, out_dir: str | os.PathLike[str], *, md_only: bool = False
) -> dict[str, Any]:
    """Write scores.csv, summary.json, PNGs, report.md and report.html into ``out_dir``.

    With ``md_only`` only report.md and its PNGs are written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = describe_run(run)
    names = [*run.components, "total"]

    if not md_only:
        _write_scores(run, out, summary)

    plots.histograms(
        {run.label: {n: [v for v in column(run, n) if v is not None] for n in names}},
        names,
        out / "score_histograms.png",
        f"各項獎勵分數分布 — {run.label} ({len(run.rows)} 題)",
    )
    plots.letter_distribution(
        {run.label: summary["letters"]["answers"]},
        out / "answer_letters.png",
        f"答案選項分布 — {run.label}",
        gold=summary["letters"]["gold"],
        missing={run.label: sum(1 for r in run.rows if r.submitted is None)},
    )

    report = Report(f"評分報告 Scoring report — {run.label}")
    acc = accuracy(run.rows)
    skew = summary["letters"]
    no_answer = summary["no_answer"]
    overview = [
        f"Input: `{run.path}` — {len(run.rows)} completions, preset `{run.preset}` "
        f"({', '.join(f'{k} × {v:g}' for k, v in run.weights.items())})",
        f"Mean total reward: **{fmt(summary['components']['total']['mean'])}**",
    ]
    if acc is not None:
        overview.append(f"Accuracy against gold ({run.gold_source}): **{acc.text()}**")
    else:
        overview.append("Accuracy: no gold answers given (pass `--gold`)")
    overview.append(
        f"No extractable answer: **{pct(no_answer['share'])}** ({no_answer['count']} of {len(run.rows)}), "
        f"ambiguous (several letters offered): {no_answer['ambiguous']}"
    )
    overview.append(
        "Answer letters: **skewed** — " + skew["reason"]
        if skew["skewed"]
        else "Answer letters: no skew flagged"
    )
    report.bullets(overview)

    report.heading("Reward components 各項分數")
    report.table(
        ["component", "weight", "n", "mean", "sd", "min", "Q1", "median", "Q3", "max"],
        [
            [
                name,
                "" if name == "total" else f"{run.weights.get(name, 0):g}",
                s["n"],
                fmt(s["mean"]),
                fmt(s["sd"]),
                fmt(s["min"]),
                fmt(s["q1"]),
                fmt(s["median"]),
                fmt(s["q3"]),
                fmt(s["max"]),
            ]
            for name, s in summary["components"].items()
        ],
        align="lrrrrrrrrr",
    )
    not_applicable = [
        f"{n} ({s['missing']})" for n, s in summary["components"].items() if s["missing"]
    ]
    if not_applicable:
        report.paragraph(
            "Not applicable (left out of n and the mean): " + ", ".join(not_applicable) + "."
        )
    report.image("score_histograms.png", "各項獎勵分數分布 histograms")

    if acc is not None:
        report.heading("Accuracy 正確率")
        report.paragraph(
            f"**{pct(acc.value)}** correct ({acc.correct} of {acc.n}), 95% Wilson interval "
            f"{pct(acc.low)}–{pct(acc.high)}. Judged on the submitted letter"
            + (
                f"; {no_answer['submitted_anyway']} of them came from the results file "
                "(constrained re-ask) because the response had no extractable answer."
                if no_answer["submitted_anyway"]
                else "."
            )
        )

    report.heading("Answer letters 答案選項分布")
    gold_counts = skew["gold"] or {}
    n_answers = sum(skew["answers"].values()) or 1
    n_gold = sum(gold_counts.values()) or 1
    report.table(
        ["letter", "answers", "share", *(["gold", "gold share"] if gold_counts else [])],
        [
            [
                k,
                skew["answers"][k],
                pct(skew["answers"][k] / n_answers),
                *(
                    [gold_counts.get(k, 0), pct(gold_counts.get(k, 0) / n_gold)]
                    if gold_counts
                    else []
                ),
            ]
            for k in LETTERS
        ],
        align="lrrrr",
    )
    reference = "the gold letters" if gold_counts else "a uniform spread"
    verdict = f"**Skew flagged**: {skew['reason']}." if skew["skewed"] else "No skew flagged."
    report.paragraph(
        f"{verdict} Chi-square against {reference}: χ² = {fmt(skew['chi2'], 2)}, "
        f"{p_text(skew['p_value'])} (flagged when one letter exceeds 50% or p < 0.01)."
    )
    report.image("answer_letters.png", "答案選項分布 answer letters")

    report.heading("No extractable answer 無法擷取答案")
    rules = ", ".join(f"`{rule}` {count}" for rule, count in summary["answer_rules"].items())
    report.paragraph(
        f"{no_answer['count']} of {len(run.rows)} completions ({pct(no_answer['share'])}) have no answer "
        f"letter that `mcq.extract_answer` accepts; {no_answer['ambiguous']} of them are ambiguous "
        f"(several letters offered as the answer; correctness 0). Extraction rules used: {rules}."
    )

    report.heading(f"Lowest-scoring completions 最低分的 {LOWEST_SHOWN} 個回答")
    by_id = run.by_id()
    for rank, row_id in enumerate(summary["lowest"], start=1):
        row = by_id[row_id]
        report.heading(f"{rank}. `{row.id}` — total {fmt(row.total)}", level=3)
        if row.question:
            report.paragraph(f"問題：{short(row.question, 160)}")
        report.table(
            ["answer", "rule", "gold", *run.components, "total"],
            [
                [
                    row.answer or "—",
                    row.answer_rule,
                    row.gold or "—",
                    *[fmt(row.components.get(c)) for c in run.components],
                    fmt(row.total),
                ]
            ],
            align="lll" + "r" * (len(run.components) + 1),
        )
        extra = details_text(row)
        if extra:
            report.paragraph(extra)
        report.quote(short_block(row.completion))

    report.write(out, html_too=not md_only)
    return summary


def _write_scores(run: ScoredRun, out: Path, summary: dict[str, Any]) -> None:
    header = ["id", "gold", "answer", "answer_rule", "submitted", "correct"]
    header += [*run.components, "total"]
    rows = [
        [
            row.id, row.gold, row.answer, row.answer_rule, row.submitted,
            None if row.correct is None else int(row.correct),
            *[row.components.get(c) for c in run.components], row.total,
        ]
        for row in run.rows
    ]  # fmt: skip
    write_atomic(out / "scores.csv", rows_to_csv(header, rows))
    write_atomic(out / "summary.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n")


def details_text(row: ScoredRow) -> str:
    """One line of what the reward details found: neutrality terms and other small facts."""
    parts: list[str] = []
    for key, value in row.details.items():
        if key == "neutrality" and isinstance(value, dict):
            terms = value.get("terms") or []
            if terms:
                shown = ", ".join(
                    f"{t.get('term')} ({t.get('category')}{', negated' if t.get('negated') else ''})"
                    for t in terms[:8]
                )
                more = f", … {len(terms) - 8} more" if len(terms) > 8 else ""
                parts.append(f"neutrality terms: {shown}{more}")
            else:
                parts.append("neutrality terms: none")
        elif isinstance(value, dict):
            simple = {
                k: v
                for k, v in value.items()
                if isinstance(v, str | int | float | bool) or v is None
            }
            if simple:
                parts.append(f"{key}: " + ", ".join(f"{k}={_brief(v)}" for k, v in simple.items()))
        elif isinstance(value, str | int | float | bool):
            parts.append(f"{key}: {_brief(value)}")
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            parts.append(f"{key}: {', '.join(value[:8]) or 'none'}")
    return "; ".join(parts)


def short_block(text: str, limit: int = 400) -> str:
    """A response cut to ``limit`` characters, keeping its line breaks."""
    text = (text or "").strip() or "(empty response)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _brief(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return short(str(value), 40)


def p_text(value: float) -> str:
    """``"p = 0.042"`` or ``"p < 0.001"``."""
    if value != value:  # NaN
        return "p = —"
    return f"p = {value:.3g}" if value >= 0.001 else "p < 0.001"
