"""The watch's files in ``<output_dir>/watch/``: JSON lines, appended, the completions rotated.

- ``metrics.jsonl``: one object per logging event, ``{"step", "time", **logs}``.
- ``completions.jsonl``: sampled completions, ``{"step", "group", "question_id", "prompt",
  "completion", "rewards", "total", "flags"}``; past ``max_mb`` it becomes
  ``completions.jsonl.1`` (``.1`` the newest, up to ``.3``; older ones are deleted).
- ``alarms.jsonl``: ``{"step", "detector", "value", "threshold", "message", "example"}``.

Lines are written whole and flushed, so a run killed mid-step leaves at most a cut last line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mcq.files import json_safe

__all__ = ["KEEP_ROTATED", "WATCH_DIR", "JsonLines"]

WATCH_DIR = "watch"
#: Rotated completions files kept beside the current one (``.1`` newest … ``.3`` oldest).
KEEP_ROTATED = 3


class JsonLines:
    """An append-only JSON-lines file, rotated by size when ``max_bytes`` is set.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> out = JsonLines(folder / "c.jsonl", max_bytes=40)
        >>> for i in range(6):
        ...     out.write([{"i": i, "pad": "x" * 20}])
        >>> sorted(p.name for p in folder.iterdir())
        ['c.jsonl', 'c.jsonl.1', 'c.jsonl.2', 'c.jsonl.3']
        >>> json.loads((folder / "c.jsonl").read_text())["i"]
        5
    """

    def __init__(self, path: str | os.PathLike[str], max_bytes: int | None = None):
        self.path = Path(path)
        self.max_bytes = max_bytes

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        text = "".join(json.dumps(json_safe(r), ensure_ascii=False) + "\n" for r in rows)
        if not text:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = self.path.stat().st_size if self.path.exists() else 0
        if self.max_bytes and size and size + len(text.encode()) > self.max_bytes:
            self._rotate()
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()

    def _rotate(self) -> None:
        oldest = self.path.with_name(f"{self.path.name}.{KEEP_ROTATED}")
        oldest.unlink(missing_ok=True)
        for i in range(KEEP_ROTATED - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{i + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
