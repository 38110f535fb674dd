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

from mcq.errors import UsageError
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

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` payload: ``{"components": {name: {metric, ties, n, ci}}}``,
        with ``subsets`` (accuracy and n per subset, as RewardBench reports them) when pairs
        have subsets, and ``input_format`` for a reward model."""
        key = "auc" if self.mode == "labelled" else "accuracy"
        components = {}
        for name, m in self.metrics.items():
            entry = {
                key: _num(m[key]),
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


def _score(rows: list[dict[str, Any]], preset: Any) -> tuple[list[str], dict[str, list]]:
    """Score rows with the preset: component names (``total`` last) and their score columns."""
    from rewards.io import score_rows

    scored = score_rows(rows, preset, progress=True)
    names = [*preset.weights, "total"]
    return names, {name: [row.get(name) for row in scored] for name in names}


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


def _load_preset(preset: Any) -> Any:
    import rewards

    try:
        return rewards.load_preset(preset)
    except UsageError:
        raise
    except (KeyError, FileNotFoundError, ValueError) as err:
        raise UsageError(f"unknown reward preset {preset!r} ({err})") from None


# ------------------------------------------------------------------------------ measures


def _rounded(values: Iterable[float]) -> np.ndarray:
    return np.round(np.asarray(list(values), dtype=float), DECIMALS)


def _excluded_note(name: str, excluded: int, what: str) -> str | None:
    if not excluded:
        return None
    return f"`{name}`: {excluded} {what} left out (not applicable)"


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
    from evals.stats import auc_ci, tie_share

    chosen = _load_preset(preset)
    names, columns = _score(list(rows), chosen)
    formats, notes = _input_formats(chosen)
    y = np.asarray(labels, dtype=int)
    metrics = {}
    for name in names:
        applies = np.array([v is not None for v in columns[name]])
        values = _rounded(v for v in columns[name] if v is not None)
        kept = y[applies]
        pos, neg = values[kept == 1], values[kept == 0]
        auc, low, high = auc_ci(pos, neg, resamples=resamples, seed=seed)
        metrics[name] = {
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
        note = _excluded_note(name, metrics[name]["excluded"], "row(s)")
        if note:
            notes.append(note)
        if pos.size == 0 or neg.size == 0:
            notes.append(f"`{name}`: applies to one class only, so it has no AUC")
    scores = [
        {"id": row_id(row.get("id"), i + 1), label: int(y[i])} | {n: columns[n][i] for n in names}
        for i, row in enumerate(rows)
    ]
    return Evaluation(
        mode="labelled",
        source=source,
        preset=chosen.name,
        components=names,
        metrics=metrics,
        scores=scores,
        correlation=spearman_matrix(columns),
        notes=notes,
        label=label,
        input_formats=formats,
    )


def _pair_figures(right: np.ndarray, tie: np.ndarray, resamples: int, seed: int) -> dict:
    """Accuracy (ties wrong), tie share and accuracy without ties, with 95% Wilson intervals
    (the interval ``training rm`` gives the same pairs in rm_eval.json)."""
    from evals.stats import wilson_interval

    untied = right[~tie]
    low, high = wilson_interval(int(right.sum()), int(right.size))
    low_nt, high_nt = wilson_interval(int(untied.sum()), int(untied.size))
    acc = float(right.mean()) if right.size else float("nan")
    acc_nt = float(untied.mean()) if untied.size else float("nan")
    return {
        "accuracy": acc,
        "ci": [low, high],
        "ties": float(tie.mean()) if tie.size else float("nan"),
        "n": int(right.size),
        "accuracy_without_ties": acc_nt,
        "ci_without_ties": [low_nt, high_nt],
        "n_without_ties": int(untied.size),
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
    what a reward model reads before each answer."""
    chosen_preset = _load_preset(preset)
    rows = []
    for number, pair in enumerate(pairs, 1):
        ref = pair_reference(pair)
        pid = row_id(pair.get("id"), number)
        for side in ("chosen", "rejected"):
            prompt = {"prompt": pair[f"{side}_prompt"]} if pair.get(f"{side}_prompt") else {}
            rows.append({"id": pid, "completion": answer_text(pair.get(side))} | ref | prompt)
    names, columns = _score(rows, chosen_preset)
    formats, notes = _input_formats(chosen_preset)
    subsets = [str(p.get("subset") or "").strip() for p in pairs]
    metrics = {}
    for name in names:
        good = columns[name][0::2]
        bad = columns[name][1::2]
        applies = np.array(
            [g is not None and b is not None for g, b in zip(good, bad, strict=True)]
        )
        g = _rounded(v for v, ok in zip(good, applies, strict=True) if ok)
        b = _rounded(v for v, ok in zip(bad, applies, strict=True) if ok)
        right, tie = g > b, g == b
        figures = _pair_figures(right, tie, resamples, seed)
        figures["excluded"] = int((~applies).sum())
        kept_subsets = np.array([s for s, ok in zip(subsets, applies, strict=True) if ok])
        figures["subsets"] = {
            subset: _pair_figures(
                right[kept_subsets == subset], tie[kept_subsets == subset], resamples, seed
            )
            for subset in sorted(set(subsets))
            if subset and (kept_subsets == subset).any()
        }
        metrics[name] = figures
        note = _excluded_note(name, figures["excluded"], "pair(s)")
        if note:
            notes.append(note)
    scores = [
        {"id": row["id"], "subset": subsets[i // 2], "side": ("chosen", "rejected")[i % 2]}
        | {n: columns[n][i] for n in names}
        for i, row in enumerate(rows)
    ]
    return Evaluation(
        mode="pairs",
        source=source,
        preset=chosen_preset.name,
        components=names,
        metrics=metrics,
        scores=scores,
        correlation=spearman_matrix(columns),
        notes=notes,
        input_formats=formats,
    )


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
