"""Report plots (matplotlib, Agg backend, PNG) with Chinese labels.

Chinese needs a CJK font: one is looked up through ``matplotlib.font_manager`` (WenQuanYi
Micro Hei from Debian's ``fonts-wqy-microhei``, Noto Sans CJK, ...). Without one, a single
warning names the package to install and the plots still render, with boxes for the Chinese.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.report import write_atomic

__all__ = [
    "COMPONENT_LABELS",
    "bar_means",
    "cjk_font",
    "component_label",
    "histograms",
    "letter_distribution",
    "metric_bars",
]

log = logging.getLogger(__name__)

#: Chinese names shown with each built-in reward component.
COMPONENT_LABELS = {
    "format": "格式",
    "reasoning": "推理",
    "neutrality": "中立",
    "correctness": "正確性",
    "seed": "競賽公式",
    "total": "總分",
}
#: Font families that cover Traditional and Simplified Chinese, best first.
CJK_FAMILIES = (
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK TC",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans TC",
    "Noto Sans SC",
    "Source Han Sans TC",
    "Source Han Sans SC",
    "Droid Sans Fallback",
    "AR PL UMing TW",
    "Microsoft JhengHei",
    "PingFang TC",
    "Heiti TC",
    "SimHei",
)
_CJK_FILE = re.compile(r"wqy|cjk|sourcehan|droidsansfallback|uming|ukai|msjh|pingfang|simhei", re.I)
#: One colour per system (A, B, ...); gold answers are grey.
COLOURS = ("#3b6fb6", "#e07b39", "#4c9a5f", "#9467bd")
GOLD_COLOUR = "#8c8c8c"
DPI = 110


def component_label(name: str) -> str:
    """``"中立 neutrality"`` for built-ins, the bare name for plugins."""
    zh = COMPONENT_LABELS.get(name)
    return f"{zh} {name}" if zh else name


@functools.cache
def cjk_font() -> str | None:
    """Name of an installed CJK font family, or None (after one warning)."""
    from matplotlib import font_manager

    def installed() -> set[str]:
        return {entry.name for entry in font_manager.fontManager.ttflist}

    names = installed()
    found = next((family for family in CJK_FAMILIES if family in names), None)
    if found is None:
        # matplotlib's font cache predates fonts installed later: register them directly.
        for path in font_manager.findSystemFonts():
            if _CJK_FILE.search(os.path.basename(path)):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        names = installed()
        found = next((family for family in CJK_FAMILIES if family in names), None)
    if found is None:
        log.warning(
            "no CJK font found: Chinese in plots will show as boxes; install one, e.g. "
            "`apt-get install fonts-wqy-microhei`"
        )
    return found


def _style() -> dict[str, object]:
    family = ["DejaVu Sans"]
    font = cjk_font()
    if font:
        family.append(font)  # per-glyph fallback: Latin from DejaVu, Chinese from the CJK font
    return {
        "font.family": family,
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.axisbelow": True,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
    }


def _save(fig, path: str | os.PathLike[str]) -> Path:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return write_atomic(path, buffer.getvalue())


def histograms(
    series: Mapping[str, Mapping[str, Sequence[float]]],
    components: Sequence[str],
    path: str | os.PathLike[str],
    title: str,
) -> Path:
    """One histogram panel per component; each system in ``series`` is one colour.

    Args:
        series: ``{system label: {component: scores}}`` (not-applicable scores left out).
        components: Panel order (``"total"`` included if wanted).
        path: PNG to write.
        title: Figure title (Chinese welcome).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    with matplotlib.rc_context(_style()):
        cols = min(3, len(components))
        rows = -(-len(components) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.1 * rows), squeeze=False)
        bins = np.linspace(0, 1, 21)
        for ax, name in zip(axes.flat, components, strict=False):
            shown = [
                (colour, label, np.clip(np.asarray(values.get(name, []), dtype=float), 0, 1))
                for colour, (label, values) in zip(COLOURS, series.items(), strict=False)
            ]
            shown = [item for item in shown if item[2].size]
            if shown:
                # Several systems: bars side by side within each bin, not stacked or overlaid.
                ax.hist(
                    [data for _, _, data in shown],
                    bins=bins,
                    color=[colour for colour, _, _ in shown],
                    label=[f"{label} (平均 {data.mean():.3f})" for _, label, data in shown],
                    alpha=0.9,
                    edgecolor="white",
                    linewidth=0.4,
                )
            for colour, _, data in shown:
                ax.axvline(data.mean(), color=colour, linestyle="--", linewidth=1.3)
            ax.set_title(component_label(name), fontsize=11)
            ax.set_xlim(0, 1)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("分數")
            ax.set_ylabel("題數")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8, loc="best", framealpha=0.8)
            else:
                ax.text(
                    0.5,
                    0.5,
                    "不適用 (not applicable)",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    color="#777777",
                )
        for ax in list(axes.flat)[len(components) :]:
            ax.set_visible(False)
        fig.suptitle(title, fontsize=13)
        fig.tight_layout()
        return _save(fig, path)


def _interval_bars(
    ax: Any,
    x: np.ndarray,
    values: Sequence[tuple[float, float, float] | None],
    width: float,
    cap: float,
    fontsize: int,
    **bar: Any,
) -> None:
    """Bars of ``(value, low, high)`` with the interval as an error bar and the value written
    above it (no higher than ``cap``); a missing or NaN value draws no bar."""
    nan3 = (np.nan, np.nan, np.nan)
    centre, low, high = np.array([v or nan3 for v in values], dtype=float).reshape(-1, 3).T
    ax.bar(x, np.nan_to_num(centre), width, alpha=0.9, **bar)
    ax.errorbar(
        x,
        centre,
        yerr=[np.nan_to_num(centre - low), np.nan_to_num(high - centre)],
        fmt="none",
        ecolor="#222222",
        capsize=4,
        linewidth=1.1,
    )
    for xx, yy, top in zip(x, centre, high, strict=True):
        if not np.isnan(yy):
            above = top if not np.isnan(top) else yy
            ax.text(xx, min(above, cap) + 0.015, f"{yy:.2f}", ha="center", fontsize=fontsize)


def bar_means(
    means: Mapping[str, Mapping[str, tuple[float, float, float]]],
    components: Sequence[str],
    path: str | os.PathLike[str],
    title: str,
) -> Path:
    """Grouped bars of each system's mean per component with 95% CI error bars.

    Args:
        means: ``{system label: {component: (mean, low, high)}}``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(max(6.5, 1.5 * len(components) + 2), 4.2))
        x = np.arange(len(components))
        width = 0.8 / max(1, len(means))
        for i, (colour, (label, values)) in enumerate(zip(COLOURS, means.items(), strict=False)):
            offset = x - 0.4 + width * (i + 0.5)
            _interval_bars(
                ax,
                offset,
                [values.get(c) for c in components],
                width * 0.92,
                1.06,
                8,
                color=colour,
                label=label,
            )
        ax.set_xticks(x, [component_label(c) for c in components])
        ax.set_ylim(0, 1.12)
        ax.set_ylabel("平均分數 (誤差線: 95% 信賴區間)")
        ax.set_title(title, fontsize=13)
        ax.legend(frameon=False, loc="upper right", ncols=len(means))
        fig.tight_layout()
        return _save(fig, path)


def letter_distribution(
    counts: Mapping[str, Mapping[str, int]],
    path: str | os.PathLike[str],
    title: str,
    letters: Sequence[str] = ("A", "B", "C", "D"),
    *,
    gold: Mapping[str, int] | None = None,
    missing: Mapping[str, int] | None = None,
) -> Path:
    """Grouped bars of the share of each answer letter per system, gold in grey beside them.

    Args:
        counts: ``{system label: {letter: count}}``.
        gold: Gold letter counts, drawn hatched grey as "標準答案 gold".
        missing: ``{system label: count}`` of answers without a letter, drawn as "無答案".
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(letters) + (["無答案"] if missing and any(missing.values()) else [])
    bars: list[tuple[str, Mapping[str, int], str, str]] = [
        (label, per_letter, colour, "")
        for colour, (label, per_letter) in zip(COLOURS, counts.items(), strict=False)
    ]
    if gold:
        bars.append(("標準答案 gold", gold, GOLD_COLOUR, "//"))
    with matplotlib.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(6.8, 4.0))
        x = np.arange(len(groups))
        width = 0.8 / max(1, len(bars))
        for i, (label, per_letter, colour, hatch) in enumerate(bars):
            none = (missing or {}).get(label, 0)
            total = sum(per_letter.get(k, 0) for k in letters) + none
            shares = [per_letter.get(k, 0) / total * 100 if total else 0 for k in letters]
            if len(groups) > len(letters):
                shares.append(none / total * 100 if total else 0)
            offset = x - 0.4 + width * (i + 0.5)
            ax.bar(
                offset,
                shares,
                width * 0.92,
                color=colour,
                label=label,
                alpha=0.9,
                hatch=hatch,
                edgecolor="white" if hatch else None,
            )
            for xx, yy in zip(offset, shares, strict=True):
                ax.text(xx, yy + 1, f"{yy:.0f}%", ha="center", fontsize=8)
        ax.axhline(100 / len(letters), color="#999999", linestyle=":", linewidth=1)
        ax.set_xticks(x, groups)
        ax.set_ylim(0, 105)
        ax.set_ylabel("占比 (%)")
        ax.set_xlabel("答案選項")
        ax.set_title(title, fontsize=13)
        ax.legend(frameon=False)
        fig.tight_layout()
        return _save(fig, path)


def metric_bars(
    values: Mapping[str, tuple[float, float, float]],
    components: Sequence[str],
    path: str | os.PathLike[str],
    title: str,
    ylabel: str,
    *,
    chance: float | None = 0.5,
    ties: Mapping[str, float] | None = None,
) -> Path:
    """One bar per component for a 0-1 measure (AUC, pairwise accuracy) with 95% CI error bars.

    Args:
        values: ``{component: (value, low, high)}``; NaN draws no bar.
        chance: Where a dotted "隨機 chance" line goes (None for none).
        ties: ``{component: tie share}``, written under each bar when given.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with matplotlib.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(components) + 2), 4.2))
        x = np.arange(len(components))
        colours = [GOLD_COLOUR if c == "total" else COLOURS[0] for c in components]
        _interval_bars(ax, x, [values.get(c) for c in components], 0.6, 1.04, 9, color=colours)
        for xx, name in zip(x, components, strict=True):
            if ties is not None and name in ties and not np.isnan(ties[name]):
                ax.text(xx, 0.02, f"平手 {ties[name]:.0%}", ha="center", fontsize=8, color="white")
        if chance is not None:
            ax.axhline(chance, color="#999999", linestyle=":", linewidth=1.2, label="隨機 chance")
            ax.legend(frameon=False, loc="upper left", fontsize=8)
        ax.set_xticks(x, [component_label(c) for c in components])
        ax.set_ylim(0, 1.22)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=13)
        fig.tight_layout()
        return _save(fig, path)
