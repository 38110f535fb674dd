"""Write what :mod:`evals.judging` measured: summary.json, details.json, scores.csv, PNGs and
report.md / report.html."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from evals import plots
from evals.judging import SIDES, Evaluation
from evals.metrics import fmt
from evals.report import Report, write_atomic
from mcq.tables import missing

__all__ = ["write_judging_report"]

_READING = {
    "labelled": (
        "AUC is the chance that a randomly drawn positive text scores above a randomly drawn "
        "negative one (a tie counts half): 0.5 is a coin toss, 1.0 a perfect ranking. **Ties** is "
        "the share of (positive, negative) pairs with exactly the same score: pairs the component "
        "cannot tell apart at all."
    ),
    "pairs": (
        "RewardBench protocol: a pair is right only when the chosen answer scores **strictly "
        "higher** than the rejected one; a tie counts as wrong. **Ties** is the share of pairs "
        "with the same score; *without ties* is the accuracy over the other pairs. A component "
        "that never separates a subset has accuracy 0 there, not 0.5."
    ),
}


def _ci(pair: list[float]) -> str:
    return f"{fmt(pair[0])}–{fmt(pair[1])}"


def _pct(value: float | None) -> str:
    """A share as a whole percentage (ties), ``—`` for missing or NaN."""
    return "—" if missing(value) else f"{value:.0%}"


def _subset_row(ev: Evaluation, subset: str, names: list[str]) -> list[object]:
    cells: list[object] = [subset, ev.metrics["total"]["subsets"].get(subset, {}).get("n", 0)]
    for name in names:
        f = ev.metrics[name]["subsets"].get(subset)
        cells.append(f"{fmt(f['accuracy'])} ({_pct(f['ties'])})" if f else "—")
    return cells


def write_judging_report(ev: Evaluation, out_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Write every file of the report into ``out_dir``; returns the summary.json payload."""
    from rewards.io import write_csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = ev.summary()
    write_atomic(out / "summary.json", json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    details = json.dumps(ev.details(), ensure_ascii=False, indent=2)
    write_atomic(out / "details.json", details + "\n")
    write_csv(ev.scores, out / "scores.csv")

    names = ev.components
    labelled = ev.mode == "labelled"
    plots.metric_bars(
        {n: (ev.metrics[n][ev.metric], *ev.metrics[n]["ci"]) for n in names},
        names,
        out / "measure.png",
        ("各項獎勵的 ROC AUC" if labelled else "各項獎勵的配對準確率 (平手算錯)")
        + f" — {Path(ev.source).name}",
        "ROC AUC (95% 信賴區間)" if labelled else "配對準確率 (95% 信賴區間)",
        ties={n: ev.metrics[n]["ties"] for n in names},
    )
    if labelled:
        groups = {f"{ev.label}=1": 1, f"{ev.label}=0": 0}
        series = {
            name: {
                n: [r[n] for r in ev.scores if r[ev.label] == value and r[n] is not None]
                for n in names
            }
            for name, value in groups.items()
        }
    else:
        series = {
            side: {
                n: [r[n] for r in ev.scores if r["side"] == side and r[n] is not None]
                for n in names
            }
            for side in SIDES
        }
    title = f"分數分布 (依標記 {ev.label})" if labelled else "分數分布 (chosen 與 rejected)"
    plots.histograms(series, names, out / "distributions.png", title)

    report = Report(f"獎勵評估 Reward evaluation — {Path(ev.source).name}")
    what = (
        f"{ev.metrics['total']['n'] + ev.metrics['total']['excluded']} labelled texts "
        f"(label column `{ev.label}`: {ev.metrics['total']['n_positive']} positive, "
        f"{ev.metrics['total']['n_negative']} negative)"
        if labelled
        else f"{ev.metrics['total']['n'] + ev.metrics['total']['excluded']} preference pairs"
    )
    report.bullets(
        [
            f"Input: `{ev.source}` — {what}",
            f"Preset: `{ev.preset}`; intervals: "
            + (
                "percentile bootstrap, 95% (positives and negatives resampled separately)"
                if labelled
                else "Wilson, 95%"
            ),
            *(ev.notes or ["Every component applied to every row."]),
        ]
    )
    report.paragraph(_READING[ev.mode])
    report.heading("Components 各項獎勵")
    if labelled:
        report.table(
            ["component", "AUC", "95% CI", "ties", "n", "left out", "mean (1)", "mean (0)"],
            [
                [
                    n,
                    fmt(m["auc"]),
                    _ci(m["ci"]),
                    _pct(m["ties"]),
                    m["n"],
                    m["excluded"],
                    fmt(m["mean_positive"]),
                    fmt(m["mean_negative"]),
                ]
                for n, m in ev.metrics.items()
            ],
            align="lrrrrrrr",
        )
    else:
        report.table(
            ["component", "accuracy", "95% CI", "ties", "without ties", "95% CI", "n", "left out"],
            [
                [
                    n,
                    fmt(m["accuracy"]),
                    _ci(m["ci"]),
                    _pct(m["ties"]),
                    fmt(m["accuracy_without_ties"]),
                    _ci(m["ci_without_ties"]),
                    m["n"],
                    m["excluded"],
                ]
                for n, m in ev.metrics.items()
            ],
            align="lrrrrrrr",
        )
    report.image("measure.png", "AUC or accuracy per component")
    if not labelled:
        subsets = sorted({s for m in ev.metrics.values() for s in m["subsets"]})
        if subsets:
            report.heading("By subset 依子集 (accuracy, ties in brackets)")
            report.table(
                ["subset", "pairs", *names],
                [_subset_row(ev, s, names) for s in subsets],
                align="l" + "r" * (len(names) + 1),
            )
    report.heading("Score distributions 分數分布")
    report.image("distributions.png", "score distributions by label")
    report.heading("Correlation between components 相關 (Spearman)")
    report.table(
        ["", *names],
        [[a, *(fmt(ev.correlation[a][b], 2) for b in names)] for a in names],
        align="l" + "r" * len(names),
    )
    report.paragraph(
        "Spearman's rank correlation over every scored text"
        + ("" if labelled else " (both sides of each pair)")
        + "; — where a column is constant."
    )
    report.write(out)
    return summary
