"""The judge's on-disk cache: one small JSON file per (model, rubric, prompt), so re-scoring is free.

Files are written atomically, so several processes (DDP ranks, a scorer next to a trainer)
may share a folder. A missing, unreadable or corrupt entry is a miss; a folder that cannot be
written turns the cache off with one warning instead of failing a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from mcq.files import write_atomic

__all__ = ["RatingCache", "default_cache_dir"]

log = logging.getLogger("rewards.judge")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/zhongli/judge`` (``~/.cache/zhongli/judge`` when it is not set)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zhongli" / "judge"


class RatingCache:
    """Ratings by key in ``folder/<2 hex>/<key>.json``.

    Example:
        >>> import tempfile
        >>> cache = RatingCache(tempfile.mkdtemp())
        >>> key = cache.key("demo-grpo", "rubric-sha", "prompt text")
        >>> cache.get(key) is None
        True
        >>> cache.put(key, {"rating": "4"})
        >>> cache.get(key)["rating"]
        '4'
    """

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder).expanduser()
        self.enabled = True

    @staticmethod
    def key(model: str, rubric_digest: str, prompt: str) -> str:
        """SHA-256 over the model name, the rubric's digest and the prompt text."""
        payload = json.dumps([model, rubric_digest, prompt], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored record, or ``None`` (missing, unreadable or corrupt entries are misses)."""
        try:
            record = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Store ``record``; on a write error, warn once and stop caching."""
        if not self.enabled:
            return
        try:
            write_atomic(self._path(key), json.dumps(record, ensure_ascii=False))
        except OSError as err:
            self.enabled = False
            log.warning("judge cache %s cannot be written (%s); caching is off", self.folder, err)
