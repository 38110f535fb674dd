"""Scoring an uploaded file of completions: checks, scoring, and the scored file's temp folder.

Scored files live in ``zhongli-scored-*`` temp folders that the service removes on close;
:func:`remove_stale_scored` clears those an app killed earlier left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from app.limits import LIMITS, UPLOAD_SUFFIXES
from app.results import summarize_scores
from mcq.errors import UsageError
from mcq.files import write_atomic

__all__ = ["SCORED_MAX_AGE_S", "SCORED_PREFIX", "remove_stale_scored", "score_upload"]

#: Name prefix of the temporary folders holding scored uploads.
SCORED_PREFIX = "zhongli-scored-"
#: Scored folders older than this are removed (Gradio has long since copied the file it serves).
SCORED_MAX_AGE_S = 3600.0


def score_upload(src: Path, preset: Any, scored_dirs: list[Path]) -> dict[str, Any]:
    """Score an uploaded CSV/TSV/JSONL of completions; write the scored file to a temp folder.

    ``src`` must be a file Gradio received as an upload (the UI never takes a typed path); the
    new folder is appended to ``scored_dirs`` for its owner to remove. Returns ``{"path":
    scored file, "summary": {...}, "preview": first rows}``.
    """
    import rewards.io

    remove_stale_scored()
    if src.suffix.lower() not in UPLOAD_SUFFIXES:
        raise UsageError(f"upload a {', '.join(UPLOAD_SUFFIXES)} file, got {src.name!r}")
    size = src.stat().st_size
    if size > LIMITS.upload_bytes:
        raise UsageError(
            f"{src.name} is {size / 1e6:.1f} MB; the limit is {LIMITS.upload_bytes / 1e6:.1f} MB"
        )
    try:
        rows = rewards.io.load_completions(src)
    except UsageError as err:
        raise UsageError(str(err).replace(str(src.parent) + os.sep, "")) from None
    if not rows:
        raise UsageError(f"{src.name} holds no completions")
    if len(rows) > LIMITS.upload_rows:
        raise UsageError(f"{src.name} has {len(rows):,} rows; the limit is {LIMITS.upload_rows:,}")
    for i, row in enumerate(rows, 1):
        if len(str(row.get("completion") or "")) > LIMITS.completion_chars:
            raise UsageError(
                f"row {i}: completion longer than {LIMITS.completion_chars:,} characters"
            )
    scored = rewards.io.score_rows(rows, preset)
    out_dir = Path(tempfile.mkdtemp(prefix=SCORED_PREFIX))
    scored_dirs.append(out_dir)
    jsonl = src.suffix.lower() == ".jsonl"
    out = out_dir / f"{src.stem}.scored{'.jsonl' if jsonl else '.csv'}"
    if jsonl:
        write_atomic(out, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in scored))
    else:
        rewards.io.write_csv(scored, out)
    return {
        "path": str(out),
        "summary": {**summarize_scores(scored), "preset": preset.name},
        "preview": scored[:20],
    }


def remove_stale_scored(
    root: str | os.PathLike | None = None, max_age_s: float = SCORED_MAX_AGE_S
) -> int:
    """Remove this user's ``zhongli-scored-*`` folders in ``root`` (the temp folder) that are
    older than ``max_age_s``; return how many went. Left behind by apps that were killed."""
    folder = Path(root or tempfile.gettempdir())
    cutoff = time.time() - max_age_s
    removed = 0
    for entry in folder.glob(f"{SCORED_PREFIX}*"):
        try:
            info = entry.lstat()
        except OSError:
            continue
        mine = info.st_uid == os.getuid()
        if mine and entry.is_dir() and not entry.is_symlink() and info.st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed
