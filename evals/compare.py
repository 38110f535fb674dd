"""``python -m evals compare``: two systems (say base and tuned) on the same questions."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from evals import plots
from evals.data import ScoredRun, check_same_ids
from evals.metrics import accuracy, ambiguous_count, column, fmt, pct, rows_to_csv, short, signed
from evals.report import Report, write_atomic
from evals.score_report import LETTERS, p_text
from evals.stats import bootstrap_mean_ci, letter_skew, mcnemar, paired_bootstrap_ci

__all__ = ["TIE_TOLERANCE", "compare_runs", "write_compare_report"]

#: Totals closer than this count as a tie.
TIE_TOLERANCE = 1e-9


def compare_runs(
    a: ScoredRun, b: ScoredRun, *, resamples: int = 2000, seed: int = 0, top: int = 10
) -> dict[str, Any]:
    """Every number the compare report shows, as plain data (also written to summary.json)."""
    check_same_ids(a, b)
    b_rows = b.by_id()
    pairs = [(row, b_rows[row.id]) for row in a.rows]
    names = [*dict.fromkeys([*a.components, *b.components]), "total"]

    components: dict[str, Any] = {}
    for name in names:
        va, vb = [], []
        for ra, rb in pairs:
            xa = ra.total if name == "total" else ra.components.get(name)
            xb = rb.total if name == "total" else rb.components.get(name)
            if xa is not None and xb is not None:
                va.append(xa)
                vb.append(xb)
        delta, low, high = paired_bootstrap_ci(va, vb, resamples=resamples, seed=seed)
        components[name] = {
            "n": len(va),
            "mean_a": bootstrap_mean_ci(va, resamples=resamples, seed=seed),
            "mean_b": bootstrap_mean_ci(vb, resamples=resamples, seed=seed),
            "delta": delta,
            "ci95": [low, high],
        }

    deltas = [rb.total - ra.total for ra, rb in pairs]
    wins = sum(1 for d in deltas if d > TIE_TOLERANCE)
    losses = sum(1 for d in deltas if d < -TIE_TOLERANCE)

    acc_a, acc_b = accuracy(a.rows), accuracy(b.rows)
    gold_pairs = [(ra, rb) for ra, rb in pairs if ra.gold is not None]
    test = (
        mcnemar(
            [bool(ra.correct) for ra, _ in gold_pairs], [bool(rb.correct) for _, rb in gold_pairs]
        )
        if gold_pairs
        else None
    )

    # Different letters first, then the largest |Δ total|; same-letter rows fill up to ``top``.
    ranked = sorted(
        pairs,
        key=lambda p: (p[0].submitted == p[1].submitted, -abs(p[1].total - p[0].total)),
    )
    different = sum(1 for ra, rb in pairs if ra.submitted != rb.submitted)
    gold = [ra.gold for ra, _ in pairs if ra.gold]
    return {
        "a": {"label": a.label, "input": a.path},
        "b": {"label": b.label, "input": b.path},
        "preset": a.preset if a.preset == b.preset else f"{a.preset} / {b.preset}",
        "questions": len(pairs),
        "bootstrap": {"resamples": resamples, "seed": seed},
        "components": components,
        "wins_b": wins,
        "ties": len(pairs) - wins - losses,
        "wins_a": losses,
        "accuracy": None
        if acc_a is None or acc_b is None
        else {
            "a": {
                "correct": acc_a.correct,
                "n": acc_a.n,
                "value": acc_a.value,
                "ci95": [acc_a.low, acc_a.high],
            },
            "b": {
                "correct": acc_b.correct,
                "n": acc_b.n,
                "value": acc_b.value,
                "ci95": [acc_b.low, acc_b.high],
            },
            "mcnemar": None if test is None else test.__dict__,
        },
        "letters": {
            "a": {k: sum(1 for r in a.rows if r.submitted == k) for k in LETTERS},
            "b": {k: sum(1 for r in b.rows if r.submitted == k) for k in LETTERS},
            "gold": {k: Counter(gold).get(k, 0) for k in LETTERS} if gold else None,
            "none_a": sum(1 for r in a.rows if r.submitted is None),
            "none_b": sum(1 for r in b.rows if r.submitted is None),
            "ambiguous_a": ambiguous_count(a.rows),
            "ambiguous_b": ambiguous_count(b.rows),
        },
        "different_letters": different,
        "disagreements": [ra.id for ra, _ in ranked[:top]],
        "skew": {
            "a": letter_skew([r.submitted for r in a.rows], gold or None, letters=LETTERS).__dict__,
            "b": letter_skew([r.submitted for r in b.rows], gold or None, letters=LETTERS).__dict__,
        },
    }


def write_compare_report(
    a: ScoredRun,
    b: ScoredRun,
    out_dir: str | os.PathLike[str],
    *,
    resamples: int = 2000,
    seed: int = 0,
    top: int = 10,
    html: bool = True,
    extras: bool = True,
    note: str | None = None,
) -> dict[str, Any]:
    """Write report.md, report.html and PNGs (and, with ``extras``, paired.csv and summary.json).

    ``note`` is a paragraph shown under the title (how the report was made).
    """
    summary = compare_runs(a, b, resamples=resamples, seed=seed, top=top)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    la, lb = a.label, b.label
    comps = summary["components"]
    names = list(comps)
    b_rows = b.by_id()

    if extras:
        header = ["id", "gold", "answer_a", "answer_b", "total_a", "total_b", "delta_total"]
        for name in a.components:
            header += [f"{name}_a", f"{name}_b"]
        rows = []
        for ra in a.rows:
            rb = b_rows[ra.id]
            row = [
                ra.id,
                ra.gold,
                ra.submitted,
                rb.submitted,
                ra.total,
                rb.total,
                rb.total - ra.total,
            ]
            for name in a.components:
                row += [ra.components.get(name), rb.components.get(name)]
            rows.append(row)
        write_atomic(out / "paired.csv", rows_to_csv(header, rows))
        write_atomic(out / "summary.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n")

    plots.bar_means(
        {
            la: {n: tuple(c["mean_a"]) for n, c in comps.items()},
            lb: {n: tuple(c["mean_b"]) for n, c in comps.items()},
        },
        names,
        out / "compare_means.png",
        f"各項平均分數：{la} 對 {lb} ({summary['questions']} 題)",
    )
    plots.histograms(
        {
            la: {n: [v for v in column(a, n) if v is not None] for n in names},
            lb: {n: [v for v in column(b, n) if v is not None] for n in names},
        },
        names,
        out / "compare_histograms.png",
        f"分數分布：{la} 對 {lb}",
    )
    letters = summary["letters"]
    plots.letter_distribution(
        {la: letters["a"], lb: letters["b"]},
        out / "compare_letters.png",
        f"答案選項分布：{la} 對 {lb}",
        gold=letters["gold"],
        missing={la: letters["none_a"], lb: letters["none_b"]},
    )

    report = Report(f"比較報告 Comparison — {la} vs {lb}")
    if note:
        report.paragraph(note)
    total = comps["total"]
    acc = summary["accuracy"]
    overview = [
        f"{la}: `{a.path}`; {lb}: `{b.path}` — {summary['questions']} questions, preset `{summary['preset']}`",
        f"Mean total: {la} **{fmt(total['mean_a'][0])}**, {lb} **{fmt(total['mean_b'][0])}**; "
        f"difference {signed(total['delta'])} (paired bootstrap 95% CI {signed(total['ci95'][0])} "
        f"to {signed(total['ci95'][1])})",
        f"Total reward per question: {lb} higher on **{summary['wins_b']}**, tie on "
        f"**{summary['ties']}**, {la} higher on **{summary['wins_a']}**",
    ]
    if acc:
        overview.append(
            f"Accuracy: {la} **{pct(acc['a']['value'])}**, {lb} **{pct(acc['b']['value'])}** "
            f"(McNemar {p_text(acc['mcnemar']['p_value'])})"
        )
    overview.append(
        f"Different answer letters on {summary['different_letters']} of {summary['questions']} questions"
    )
    flagged = [
        f"{label} ({sk['reason']})"
        for label, sk in ((la, summary["skew"]["a"]), (lb, summary["skew"]["b"]))
        if sk["skewed"]
    ]
    if flagged:
        overview.append("Answer-letter skew flagged: " + "; ".join(flagged))
    report.bullets(overview)

    report.heading("Reward components side by side 各項平均分數")
    report.table(
        ["component", "n", f"{la} mean", f"{lb} mean", f"Δ ({lb} − {la})", "95% CI of Δ", ""],
        [
            [
                name,
                c["n"],
                fmt(c["mean_a"][0]),
                fmt(c["mean_b"][0]),
                signed(c["delta"]),
                f"{signed(c['ci95'][0])} to {signed(c['ci95'][1])}",
                _direction(c["ci95"], la, lb),
            ]
            for name, c in comps.items()
        ],
        align="lrrrrrl",
    )
    report.paragraph(
        f"Δ is the mean of per-question differences; its interval is a paired percentile bootstrap "
        f"({resamples} resamples of questions, seed {seed}). Error bars in the chart are bootstrap "
        "95% intervals of each system's own mean."
    )
    report.image("compare_means.png", "各項平均分數 component means")
    report.image("compare_histograms.png", "分數分布 score histograms")

    report.heading("Win / tie / loss on total reward 逐題勝負")
    report.table(
        ["outcome", "questions", "share"],
        [
            [f"{lb} higher", summary["wins_b"], pct(summary["wins_b"] / summary["questions"])],
            ["tie", summary["ties"], pct(summary["ties"] / summary["questions"])],
            [f"{la} higher", summary["wins_a"], pct(summary["wins_a"] / summary["questions"])],
        ],
        align="lrr",
    )

    if acc:
        test = acc["mcnemar"]
        report.heading("Accuracy 正確率")
        report.table(
            ["system", "correct", "accuracy", "95% CI (Wilson)"],
            [
                [
                    label,
                    f"{s['correct']}/{s['n']}",
                    pct(s["value"]),
                    f"{pct(s['ci95'][0])}–{pct(s['ci95'][1])}",
                ]
                for label, s in ((la, acc["a"]), (lb, acc["b"]))
            ],
            align="lrrr",
        )
        method = (
            "exact two-sided binomial test on the discordant pairs"
            if test["method"] == "exact"
            else f"chi-square with continuity correction, χ² = {fmt(test['statistic'], 2)}"
        )
        report.paragraph(
            f"McNemar's test: {_questions(test['a_only'])} only {la} got right, {test['b_only']} only "
            f"{lb} got right; {p_text(test['p_value'])} ({method})."
        )

    report.heading("Answer letters 答案選項分布")
    gold_counts = letters["gold"]
    report.table(
        ["letter", la, lb, *(["gold"] if gold_counts else [])],
        [
            [k, letters["a"][k], letters["b"][k], *([gold_counts[k]] if gold_counts else [])]
            for k in LETTERS
        ]
        + (
            [["none", letters["none_a"], letters["none_b"], *([""] if gold_counts else [])]]
            if letters["none_a"] or letters["none_b"]
            else []
        ),
        align="lrrr",
    )
    skews = summary["skew"]
    reference = "the gold letters" if gold_counts else "a uniform spread"
    report.bullets(
        [
            f"{label}: "
            + (f"**skew flagged** ({sk['reason']})" if sk["skewed"] else "no skew flagged")
            + f"; χ² against {reference} = {fmt(sk['chi2'], 2)}"
            for label, sk in ((la, skews["a"]), (lb, skews["b"]))
        ]
        + [
            f"Ambiguous answers (several letters offered as the answer; correctness 0): "
            f"{la} {letters['ambiguous_a']}, {lb} {letters['ambiguous_b']}"
        ]
    )
    report.image("compare_letters.png", "答案選項分布 answer letters")

    if top:
        report.heading(f"Where they disagree most 差異最大的題目 (top {top})")
        report.paragraph(
            f"Questions where the two chose different letters "
            f"({_questions(summary['different_letters'])}), largest |Δ total| first"
            + (
                "; then questions with the same letter, by |Δ total|."
                if summary["different_letters"] < min(top, summary["questions"])
                else "."
            )
        )
        a_rows = a.by_id()
        report.table(
            ["id", "question", "gold", la, lb, f"{la} total", f"{lb} total", "Δ total"],
            [
                [
                    i,
                    short(a_rows[i].question or b_rows[i].question, 40) or "—",
                    a_rows[i].gold or "—",
                    a_rows[i].submitted or "—",
                    b_rows[i].submitted or "—",
                    fmt(a_rows[i].total),
                    fmt(b_rows[i].total),
                    signed(b_rows[i].total - a_rows[i].total),
                ]
                for i in summary["disagreements"]
            ],
            align="lllllrrr",
        )
    report.write(out, html_too=html)
    return summary


def _questions(n: int) -> str:
    return f"{n} question" if n == 1 else f"{n} questions"


def _direction(ci: list[float], la: str, lb: str) -> str:
    low, high = ci
    if low != low:  # NaN
        return ""
    if low > 0:
        return f"{lb} higher"
    if high < 0:
        return f"{la} higher"
    return "no clear difference"
