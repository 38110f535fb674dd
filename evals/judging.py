"""Judge the judges: how well each reward component agrees with human judgments.

Two kinds of judgment, two measures (see ``python -m evals rewards``):

* **labelled texts** (a binary label per completion): ROC AUC of each component as a
  classifier of the label, a tie counting half, with a stratified bootstrap 95% interval and
  the share of (positive, negative) pairs the component cannot tell apart (equal scores);
* **preference pairs** (``chosen`` / ``rejected``): RewardBench's pairwise accuracy, where a
  pair is right only when ``chosen`` scores strictly higher, so a tie counts as wrong; the tie
  share and the accuracy without ties are reported beside it, overall and per ``subset``.

Scores are compared at 6 decimals (``total`` is rounded so), so float noise never breaks a tie.
A component that returns ``None`` (not applicable) for a row leaves that row out of its own
figures only, and the number left out is reported. Texts are scored through
:func:`rewards.io.score_rows`, so any registry component (lexicon, learned, judge) works.

Example:
    >>> pairs = [{"id": "p1", "chosen": "答案：A\\n理由：首先，依增修條文規定任期為四年，連選得連任一次。",
    ...           "rejected": "A", "correct_answer": "A"}]
    >>> result = evaluate_pairs(pairs, "default", resamples=200)
    >>> result.metrics["format"]["accuracy"], result.metrics["correctness"]["ties"]
    (1.0, 1.0)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evals.data import load_preset
from mcq.files import json_safe
from mcq.tables import row_id
from rewards.judgments import answer_text, pair_reference

__all__ = [
    "Evaluation",
    "evaluate_labelled",
    "evaluate_pairs",
    "spearman_matrix",
]

#: Decimals at which scores are compared (ties, wins).
DECIMALS = 6

#: The headline figure of each kind of judgment (the summary, the report and the console line).
METRIC = {"labelled": "auc", "pairs": "accuracy"}

#: The two sides of a preference pair, in the order scores.csv lists them.
SIDES = ("chosen", "rejected")


@dataclass
class Evaluation:
    """What ``evals rewards`` measured.

    Attributes:
        mode: ``"labelled"`` (AUC) or ``"pairs"`` (pairwise accuracy).
        source: The input file.
        preset: The preset's name.
        components: Component names in preset order, ``"total"`` last.
        metrics: Component -> its figures (``auc`` or ``accuracy``, ``ties``, ``n``, ``ci``,
            ``excluded``, and per mode: class means, or accuracy without ties and ``subsets``).
        scores: One dict per scored text: ``id``, ``label`` or ``subset``/``side``, components.
        correlation: Spearman rank correlation between components (over every scored text).
        notes: Lines for the report (rows left out and why).
        input_formats: Learned component -> how its reward model read the texts
            (``"chat_template"`` or ``"plain"``).
    """

    mode: str
    source: str
    preset: str
    components: list[str]
    metrics: dict[str, dict[str, Any]]
    scores: list[dict[str, Any]]
    correlation: dict[str, dict[str, float | None]]
    notes: list[str] = field(default_factory=list)
    label: str | None = None
    input_formats: dict[str, str] = field(default_factory=dict)

    @property
    def metric(self) -> str:
        """The headline figure of this mode: ``"auc"`` (labelled) or ``"accuracy"`` (pairs)."""
        return METRIC[self.mode]

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` payload: ``{"components": {name: {metric, ties, n, ci}}}``,
        with ``subsets`` (accuracy and n per subset, as RewardBench reports them) when pairs
        have subsets, and ``input_format`` for a reward model."""
        components = {}
        for name, m in self.metrics.items():
            entry = {
                self.metric: _num(m[self.metric]),
                "ties": _num(m["ties"]),
                "n": int(m["n"]),
                "ci": [_num(m["ci"][0]), _num(m["ci"][1])],
            }
            if m.get("subsets"):
                entry["subsets"] = {
                    subset: {"accuracy": _num(f["accuracy"]), "n": int(f["n"])}
                    for subset, f in m["subsets"].items()
                }
            if name in self.input_formats:
                entry["input_format"] = self.input_formats[name]
            components[name] = entry
        return {"components": components}

    def details(self) -> dict[str, Any]:
        """Everything measured, JSON-ready (NaN as null)."""
        return json_safe(
            {
                "mode": self.mode,
                "source": self.source,
                "preset": self.preset,
                "label": self.label,
                "components": self.metrics,
                "spearman": self.correlation,
                "notes": self.notes,
            }
        )


@dataclass
class _Scored:
    """Texts scored with a preset: component names (``total`` last), a score column each, and
    how the preset's reward models read the texts (with a report line each)."""

    preset: str
    names: list[str]
    columns: dict[str, list[float | None]]
    input_formats: dict[str, str]
    notes: list[str]

    def evaluation(self, mode: str, metrics: dict, scores: list, **extra: Any) -> Evaluation:
        return Evaluation(
            mode=mode,
            preset=self.preset,
            components=self.names,
            metrics=metrics,
            scores=scores,
            correlation=spearman_matrix(self.columns),
            notes=self.notes,
            input_formats=self.input_formats,
            **extra,
        )


def _score(rows: list[dict[str, Any]], preset: Any) -> _Scored:
    """Score rows with the preset (a name, a path or a loaded preset)."""
    from rewards.io import score_rows

    chosen = load_preset(preset)
    scored = score_rows(rows, chosen, progress=True)
    names = [*chosen.weights, "total"]
    formats, notes = _input_formats(chosen)
    columns = {name: [row.get(name) for row in scored] for name in names}
    return _Scored(chosen.name, names, columns, formats, notes)


def _input_formats(preset: Any) -> tuple[dict[str, str], list[str]]:
    """How each reward model of the preset read its texts, and a report line for each."""
    from rewards.registry import factory_key

    formats, notes = {}, []
    for name in preset.weights:
        settings = preset.settings.get(name) or {}
        if factory_key(settings) == "reward_model":
            from rewards.learned import input_format

            formats[name] = input_format(settings)
            how = (
                "the conversation through its tokenizer's chat template"
                if formats[name] == "chat_template"
                else "plain text (its tokenizer has no chat template)"
            )
            notes.append(f"`{name}` (reward model) read {how}")
    return formats, notes


# ------------------------------------------------------------------------------ measures


def _rounded(values: Iterable[float]) -> np.ndarray:
    return np.round(np.asarray(list(values), dtype=float), DECIMALS)


def _excluded_notes(name: str, excluded: int, what: str) -> list[str]:
    return [f"`{name}`: {excluded} {what} left out (not applicable)"] if excluded else []


def evaluate_labelled(
    rows: Sequence[dict[str, Any]],
    labels: Sequence[int],
    preset: Any = "default",
    *,
    resamples: int = 2000,
    seed: int = 0,
    source: str = "",
    label: str = "label",
) -> Evaluation:
    """ROC AUC (ties half), its stratified bootstrap interval and the tie share, per component.

    Example:
        >>> rows = [{"id": "1", "completion": "答案：A\\n理由：首先，依規定任期為四年，連選得連任一次。"},
        ...         {"id": "2", "completion": "A"}]
        >>> ev = evaluate_labelled(rows, [1, 0], resamples=100)
        >>> ev.metrics["format"]["auc"], ev.metrics["format"]["n"]
        (1.0, 2)

        Rows without an id are named by their number, as everywhere (:func:`mcq.row_id`):

        >>> unnamed = [{"completion": "A"}, {"id": " ", "completion": "B"}]
        >>> [s["id"] for s in evaluate_labelled(unnamed, [1, 0], resamples=10).scores]
        ['1', '2']
    """
    rows = list(rows)
    scored = _score(rows, preset)
    y = np.asarray(labels, dtype=int)
    metrics = {}
    for name in scored.names:
        metrics[name] = _labelled_figures(scored.columns[name], y, resamples, seed)
        scored.notes += _excluded_notes(name, metrics[name]["excluded"], "row(s)")
        if not (metrics[name]["n_positive"] and metrics[name]["n_negative"]):
            scored.notes.append(f"`{name}`: applies to one class only, so it has no AUC")
    scores = [
        {"id": row_id(row.get("id"), i + 1), label: int(y[i])}
        | {name: scored.columns[name][i] for name in scored.names}
        for i, row in enumerate(rows)
    ]
    return scored.evaluation("labelled", metrics, scores, source=source, label=label)


def _labelled_figures(
    column: list[float | None], y: np.ndarray, resamples: int, seed: int
) -> dict[str, Any]:
    """One component's AUC, interval, tie share and class means over the rows it applies to."""
    from evals.stats import auc_ci, tie_share

    applies = np.array([v is not None for v in column], dtype=bool)
    values = _rounded(v for v in column if v is not None)
    kept = y[applies]
    pos, neg = values[kept == 1], values[kept == 0]
    auc, low, high = auc_ci(pos, neg, resamples=resamples, seed=seed)
    return {
        "auc": auc,
        "ci": [low, high],
        "ties": tie_share(pos, neg),
        "n": int(values.size),
        "n_positive": int(pos.size),
        "n_negative": int(neg.size),
        "mean_positive": float(pos.mean()) if pos.size else float("nan"),
        "mean_negative": float(neg.mean()) if neg.size else float("nan"),
        "excluded": int((~applies).sum()),
    }


def evaluate_pairs(
    pairs: Sequence[dict[str, Any]],
    preset: Any = "default",
    *,
    resamples: int = 2000,
    seed: int = 0,
    source: str = "",
) -> Evaluation:
    """RewardBench pairwise accuracy per component, overall and per ``subset`` (see module doc).

    A pair's ``chosen_prompt``/``rejected_prompt`` (:func:`rewards.judgments.read_pairs`) is
    what a reward model reads before each answer. Intervals are Wilson's, so ``resamples`` and
    ``seed`` (the labelled bootstrap's) change nothing here."""
    n = len(pairs)
    rows = {side: [_side_row(pair, side, i) for i, pair in enumerate(pairs, 1)] for side in SIDES}
    scored = _score(rows["chosen"] + rows["rejected"], preset)  # one pass: full model batches
    # Two parallel arrays per component: pair i is chosen[name][i] against rejected[name][i].
    chosen = {name: column[:n] for name, column in scored.columns.items()}
    rejected = {name: column[n:] for name, column in scored.columns.items()}
    subsets = [str(p.get("subset") or "").strip() for p in pairs]
    metrics = {}
    for name in scored.names:
        metrics[name] = _pair_metrics(chosen[name], rejected[name], subsets)
        scored.notes += _excluded_notes(name, metrics[name]["excluded"], "pair(s)")
    by_side = {"chosen": chosen, "rejected": rejected}
    scores = [
        {"id": rows[side][i]["id"], "subset": subsets[i], "side": side}
        | {name: by_side[side][name][i] for name in scored.names}
        for i in range(n)
        for side in SIDES
    ]
    return scored.evaluation("pairs", metrics, scores, source=source)


def _side_row(pair: dict[str, Any], side: str, number: int) -> dict[str, Any]:
    """One side of a pair as a completions row: its answer, the pair's reference, its prompt."""
    prompt = {"prompt": pair[f"{side}_prompt"]} if pair.get(f"{side}_prompt") else {}
    return (
        {"id": row_id(pair.get("id"), number), "completion": answer_text(pair.get(side))}
        | pair_reference(pair)
        | prompt
    )


def _pair_metrics(
    chosen: Sequence[float | None], rejected: Sequence[float | None], subsets: Sequence[str]
) -> dict[str, Any]:
    """One component's pair figures (:func:`_pair_figures`), overall and per subset, over the
    pairs where it scores both sides; ``excluded`` counts the others."""
    applies = [c is not None and r is not None for c, r in zip(chosen, rejected, strict=True)]
    good = _rounded(c for c, ok in zip(chosen, applies, strict=True) if ok)
    bad = _rounded(r for r, ok in zip(rejected, applies, strict=True) if ok)
    kept_subsets = np.array([s for s, ok in zip(subsets, applies, strict=True) if ok], dtype=str)
    right, tie = good > bad, good == bad
    figures = _pair_figures(right, tie)
    figures["excluded"] = applies.count(False)
    figures["subsets"] = {
        subset: _pair_figures(right[kept_subsets == subset], tie[kept_subsets == subset])
        for subset in sorted(set(subsets))
        if subset and (kept_subsets == subset).any()
    }
    return figures


def _pair_figures(right: np.ndarray, tie: np.ndarray) -> dict[str, Any]:
    """Accuracy (ties wrong), tie share and accuracy without ties, with 95% Wilson intervals
    (the interval ``training rm`` gives the same pairs in rm_eval.json)."""
    from evals.stats import wilson_interval

    untied = right[~tie]
    low, high = wilson_interval(int(right.sum()), int(right.size))
    low_nt, high_nt = wilson_interval(int(untied.sum()), int(untied.size))
    return {
        "accuracy": float(right.mean()) if right.size else float("nan"),
        "ci": [low, high],
        "ties": float(tie.mean()) if tie.size else float("nan"),
        "n": int(right.size),
        "accuracy_without_ties": float(untied.mean()) if untied.size else float("nan"),
        "ci_without_ties": [low_nt, high_nt],
        "n_without_ties": int(untied.size),
    }


def spearman_matrix(columns: dict[str, list[float | None]]) -> dict[str, dict[str, float | None]]:
    """Spearman rank correlation (``scipy.stats.spearmanr``) of every two score columns.

    Each pair of columns uses the rows where both apply; ``None`` where it is undefined (a
    constant column, fewer than three rows).

    Example:
        >>> m = spearman_matrix({"a": [0.1, 0.2, 0.3, None], "b": [1.0, 2.0, 3.0, 4.0]})
        >>> m["a"]["b"], m["b"]["b"]
        (1.0, 1.0)
    """
    from scipy.stats import spearmanr

    out: dict[str, dict[str, float | None]] = {name: {} for name in columns}
    for a, va in columns.items():
        for b, vb in columns.items():
            both = [(x, y) for x, y in zip(va, vb, strict=True) if x is not None and y is not None]
            xs, ys = (
                (np.asarray(v, dtype=float) for v in zip(*both, strict=True)) if both else ([], [])
            )
            if len(both) < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
                out[a][b] = None
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rho = float(spearmanr(xs, ys).statistic)
            out[a][b] = None if math.isnan(rho) else round(rho, 6)
    return out


# ------------------------------------------------------------------------------ helpers


def _num(value: Any) -> float | None:
    """A float for JSON; NaN becomes None (JSON has no NaN)."""
    value = float(value)
    return None if math.isnan(value) else value
