"""Judge rubrics: what the judge is asked, on which rating scale, and how a rating becomes a score.

A rubric is a YAML file (the shipped ones live in ``assets/rubrics/``)::

    name: neutrality
    description: one line
    system: the judge's system turn
    criteria: what to look at (shown above the scale)
    scale:                       # rating -> its score in [0, 1] and what it means
      "1": {score: 0.0, meaning: 明顯偏頗……}
      "5": {score: 1.0, meaning: 完全持平……}
    template: optional; the user turn, with {criteria} {scale} {question} {options} {answer} {ratings}

The judge answers with one rating; the component's value is that rating's ``score``.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import mcq
from mcq.files import asset_file, read_yaml
from mcq.paths import ASSETS
from rewards.registry import Sample

__all__ = ["DEFAULT_TEMPLATE", "RUBRIC_DIR", "Rubric", "load_rubric", "parse_rating"]

#: Where the shipped rubrics live (``rubric: neutrality`` means ``RUBRIC_DIR/neutrality.yaml``).
RUBRIC_DIR = ASSETS / "rubrics"

#: The user turn when a rubric has no ``template`` of its own.
DEFAULT_TEMPLATE = """\
{criteria}
評分標準：
{scale}

【題目】
{question}

【選項】
{options}

【待評回答】
{answer}
【待評回答結束】

請依上述標準評分，只輸出一個評分（{ratings}），不要輸出其他文字。"""

_FIELDS = ("criteria", "scale", "question", "options", "answer", "ratings")
_KEYS = {"name", "description", "system", "criteria", "scale", "template"}
_MARKER = r"(?:評分|评分|分數|分数|得分|rating|score)"


@dataclass(frozen=True)
class Rubric:
    """A loaded rubric.

    Attributes:
        name: The rubric's name.
        description: One line (it becomes the judge component's description).
        system: The judge's system turn ("" for none).
        criteria: What the judge looks at.
        scale: Rating -> (score in [0, 1], meaning), in the file's order.
        template: The user turn's template.
        digest: SHA-256 of the file's bytes: part of the cache key, so editing the rubric
            asks the judge again.
    """

    name: str
    description: str
    system: str
    criteria: str
    scale: dict[str, tuple[float, str]]
    template: str
    digest: str

    @property
    def ratings(self) -> list[str]:
        """The ratings a judge may answer with (the constrained choice)."""
        return list(self.scale)

    def messages(self, completion: str, sample: Sample | None = None) -> list[dict[str, str]]:
        """The chat messages that ask the judge to rate ``completion``.

        Example:
            >>> r = load_rubric("neutrality")
            >>> m = r.messages("答案：B\\n理由：……", Sample(question="立法院院長如何產生？"))
            >>> [x["role"] for x in m], "立法院院長如何產生？" in m[-1]["content"]
            (['system', 'user'], True)
        """
        sample = sample or Sample()
        options = sample.options or {}
        user = self.template.format(
            criteria=self.criteria.strip(),
            scale="\n".join(f"- {r} 分：{meaning}" for r, (_, meaning) in self.scale.items()),
            question=(sample.question or "").strip() or "（未提供題目）",
            options="\n".join(f"{k}. {v}" for k, v in sorted(options.items()) if v)
            or "（未提供選項）",
            answer=completion,
            ratings="、".join(self.ratings),
        )
        system = [{"role": "system", "content": self.system}] if self.system else []
        return [*system, {"role": "user", "content": user}]


def load_rubric(name_or_path: str | os.PathLike[str]) -> Rubric:
    """Load a shipped rubric by name (``neutrality``, ``reasoning``) or a YAML file by path.

    Raises:
        mcq.DataError: unknown name, unreadable file, a scale without two ratings or with a
            score outside [0, 1], a template with an unknown ``{field}``.

    Example:
        >>> r = load_rubric("reasoning")
        >>> r.ratings, r.scale["1"][0], r.scale["5"][0]
        (['1', '2', '3', '4', '5'], 0.0, 1.0)
    """
    return _load_file(*asset_file(os.fspath(name_or_path), RUBRIC_DIR, "judge rubric"))


@lru_cache(maxsize=16)
def _load_file(path_text: str, mtime: float) -> Rubric:
    path = Path(path_text)
    where = f"judge rubric {path}"
    data = read_yaml(path, "judge rubric")
    if not isinstance(data, dict):
        raise mcq.DataError(f"{where}: expected a mapping with 'criteria' and 'scale'")
    unknown = sorted(set(map(str, data)) - _KEYS)
    if unknown:
        raise mcq.DataError(f"{where}: unknown keys {unknown}; use {sorted(_KEYS)}")
    scale = _scale(data.get("scale"), where)
    template = str(data.get("template") or DEFAULT_TEMPLATE)
    try:
        template.format(**dict.fromkeys(_FIELDS, ""))
    except (KeyError, IndexError, ValueError) as err:
        raise mcq.DataError(
            f"{where}: template has a bad field {err}; use {{{'}, {'.join(_FIELDS)}}}"
        ) from None
    if "{answer}" not in template:
        raise mcq.DataError(f"{where}: template must show the answer with {{answer}}")
    return Rubric(
        name=str(data.get("name") or path.stem),
        description=" ".join(str(data.get("description") or "").split()),
        system=str(data.get("system") or "").strip(),
        criteria=str(data.get("criteria") or ""),
        scale=scale,
        template=template,
        digest=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


def _scale(raw: Any, where: str) -> dict[str, tuple[float, str]]:
    if not isinstance(raw, dict) or len(raw) < 2:
        raise mcq.DataError(f"{where}: 'scale' must map at least two ratings to their scores")
    scale: dict[str, tuple[float, str]] = {}
    for rating, entry in raw.items():
        key = str(rating).strip()
        entry = entry if isinstance(entry, dict) else {"score": entry}
        value = entry.get("score")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise mcq.DataError(f"{where}: rating {key!r} needs a score in [0, 1], not {value!r}")
        if not key or key in scale:
            raise mcq.DataError(f"{where}: rating {key!r} is empty or listed twice")
        scale[key] = (float(value), " ".join(str(entry.get("meaning") or "").split()))
    return scale


def parse_rating(reply: str | None, ratings: list[str]) -> str | None:
    """The rating a free-text judge reply gives, or ``None`` when it gives none or several.

    Precedence: the whole reply is a rating; a marker (``評分：4``, ``score: 4``); a rating
    that opens the reply (``4 分，因為……``); else the one rating the reply mentions. Full-width
    digits count. A number inside a longer one (``15``, ``4.5``) is not a rating.

    Example:
        >>> r = ["1", "2", "3", "4", "5"]
        >>> parse_rating("４", r), parse_rating("理由充分。評分：4", r), parse_rating("4/5", r)
        ('4', '4', '4')
        >>> parse_rating("我給 3 分", r), parse_rating("介於2和4之間", r), parse_rating("15", r)
        ('3', None, None)
    """
    text = unicodedata.normalize("NFKC", reply or "").strip()
    if not text:
        return None
    if text in ratings:
        return text
    alternatives = "|".join(re.escape(r) for r in sorted(ratings, key=len, reverse=True))
    token = rf"(?<![0-9A-Za-z.])({alternatives})(?![0-9A-Za-z]|\.\d)"
    marked = re.search(rf"{_MARKER}\s*(?:[:=為为是]|\bis\b)?\s*{token}", text, re.IGNORECASE)
    if marked:
        return marked.group(1)
    opening = re.match(token, text)
    if opening:
        return opening.group(1)
    found = {m.group(1) for m in re.finditer(token, text)}
    return found.pop() if len(found) == 1 else None
