"""Command line: ``python -m app`` serves the app (see :mod:`app.serve` for its flags).

The app has one command; it keeps the house shape (``make_parser`` + ``main(args)`` in
:mod:`app.serve`) so it can become a subcommand, and :func:`mcq.cli.run_command` maps its
outcome to the exit code.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcq.cli import program, run_command

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and serve the app; returns the exit code."""
    from app import serve

    args = serve.make_parser().parse_args(argv)
    return run_command(serve.main, args, prog=program("app"))
