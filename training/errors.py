"""The error type for mistakes a user of ``python -m training`` can fix."""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(Exception):
    """A mistake in the arguments or inputs; ``str(err)`` is one line for the user (exit code 2)."""
