"""Moved: the one user-error type is :class:`mcq.errors.UsageError`.

Re-exported here for one release so ``from training.errors import UsageError`` keeps working.
"""

from __future__ import annotations

from mcq.errors import UsageError

__all__ = ["UsageError"]
