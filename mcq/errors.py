"""The one error type for mistakes a user can fix (exit code 2 in every command).

Every package raises :class:`UsageError` (or a subclass such as ``mcq.DataError`` for a bad
input file) with a one-line message; :func:`mcq.cli.run_command` prints it and returns 2.

Example:
    >>> str(UsageError("--input   data.tsv:\\n  not found"))
    '--input data.tsv: not found'
"""

from __future__ import annotations

__all__ = ["DataError", "UsageError", "first_line"]


class UsageError(ValueError):
    """A mistake in the arguments or inputs; ``str(err)`` is one line for the user."""

    def __init__(self, message: object = "", *args: object):
        super().__init__(" ".join(str(message).split()), *args)


class DataError(UsageError):
    """A problem with an input file that the user can fix.

    ``str(err)`` is one line for the user; ``err.problems`` lists ``(line, reason)`` pairs
    (line 0 when the problem concerns the whole file).

    Example:
        >>> err = DataError("t.tsv: 1 invalid row (line 3: empty option_B)", [(3, "empty option_B")])
        >>> isinstance(err, UsageError), err.problems
        (True, [(3, 'empty option_B')])
    """

    def __init__(self, message: str, problems: list[tuple[int, str]] | None = None):
        super().__init__(message)
        self.problems: list[tuple[int, str]] = list(problems or [])


def first_line(err: BaseException, *, typed: bool = False) -> str:
    """The first non-empty line of an exception's message, else its class name: what a one-line
    message quotes of a library's error. ``typed`` puts the class name first.

    Example:
        >>> first_line(OSError("\\n  disk full \\nTraceback ..."))
        'disk full'
        >>> first_line(ValueError("bad header"), typed=True), first_line(KeyError(), typed=True)
        ('ValueError: bad header', 'KeyError')
    """
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    name = type(err).__name__
    if not lines:
        return name
    return f"{name}: {lines[0]}" if typed else lines[0]
