"""Command line: ``python -m app`` serves the app (see :mod:`app.serve` for its flags).

The app has one command; it keeps the house shape (``make_parser`` + ``main(args)`` in
:mod:`app.serve`) so it can become a subcommand, and :class:`mcq.cli.CommandTree` parses it
and maps its outcome to the exit code.
"""

from __future__ import annotations

from mcq.cli import CommandTree

__all__ = ["CLI", "main"]

CLI = CommandTree("app", "app.serve")
main = CLI.main
