"""One CLI shape for every command, after TRL's: ``make_parser(subparsers=None)`` + ``main(args)``.

Each command module exposes ``make_parser(subparsers=None)`` (a stand-alone parser, or a
subcommand added to ``subparsers``, with ``func=main`` set as its default) and ``main(args)``
(which takes the parsed namespace). The package's ``__main__`` builds the tree and calls
:func:`run_command`, the one place that maps outcomes to exit codes:

* :class:`mcq.errors.UsageError` (bad flags or input files): ``error: …`` on stderr, exit 2;
* ``KeyboardInterrupt`` (Ctrl-C): ``interrupted`` on stderr, exit 130;
* a closed pipe (``… | head``): quiet, exit 141, as the shell's own tools do;
* anything else is a bug: the traceback is printed and the exit code is 1.

Example:
    >>> def main(args):
    ...     raise UsageError("--input x.tsv: file not found")
    >>> run_command(main, None, prog="demo")
    2
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any

from mcq.errors import UsageError

__all__ = ["UsageError", "command_parser", "run_command"]


def command_parser(
    subparsers: Any | None,
    name: str,
    *,
    help: str,
    description: str | None = None,
    epilog: str | None = None,
    prog: str | None = None,
) -> argparse.ArgumentParser:
    """A stand-alone parser (``subparsers=None``) or the subcommand ``name`` of ``subparsers``.

    Both get the same description, raw-text epilog (for ``examples:`` blocks) and help text, so
    ``python -m pkg name --help`` reads the same either way.

    Example:
        >>> p = command_parser(None, "score", help="score a file", prog="python -m rewards score")
        >>> p.prog
        'python -m rewards score'
    """
    kwargs = dict(
        description=description or help,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if subparsers is None:
        return argparse.ArgumentParser(prog=prog or name, **kwargs)
    return subparsers.add_parser(name, help=help, **kwargs)


def run_command(
    main: Callable[[Any], int | None], args: Any, *, prog: str, stream: Any = None
) -> int:
    """Call ``main(args)`` and turn how it ended into an exit code (see the module docstring).

    ``prog`` starts the one error line (``python -m rewards score: error: …``).
    """
    err = stream if stream is not None else sys.stderr
    try:
        return int(main(args) or 0)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=err)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=err)
        return 130
    except BrokenPipeError:
        # The reader went away: silence the flush at exit as well.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
