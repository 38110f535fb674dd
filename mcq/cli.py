"""One CLI shape for every command, after TRL's: ``make_parser(subparsers=None)`` + ``main(args)``.

Each command module exposes ``make_parser(subparsers=None)`` (a stand-alone parser, or a
subcommand added to ``subparsers``, with ``func=main`` set as its default) and ``main(args)``
(which takes the parsed namespace). The package's :class:`CommandTree` builds the tree and
calls :func:`run_command`, the one place that maps outcomes to exit codes:

* :class:`mcq.errors.UsageError` (bad flags or input files): ``error: …`` on stderr, exit 2;
* ``KeyboardInterrupt`` (Ctrl-C): ``interrupted`` on stderr, exit 130;
* a closed pipe (``… | head``): quiet, exit 141, as the shell's own tools do;
* a library that the install left out (torch, TRL, vLLM, Gradio: see :data:`EXTRAS`): one line
  naming the ``pip install 'zhongli[EXTRA]'`` that adds it, exit 1;
* an ``OSError`` about a path the user can change (:data:`PATH_ERRORS`: not found, exists, a
  folder where a file goes or the reverse, permission denied): ``error: PATH: why``, exit 2;
  any other ``OSError`` (disk full, an I/O or network failure): ``failed: why: PATH``, exit 1;
* :class:`CommandFailed` (a worker process died, the hub refused an upload): ``failed: …``,
  exit 1;
* anything else is a bug: the traceback is printed and the exit code is 1.

A package's command line (``python -m rewards``, …) is a :class:`CommandTree`: the package
names its command modules, and the tree parses (argparse errors are one line and exit 2, as
:class:`CommandParser` prints them) and runs the chosen command through :func:`run_command`.

Every parser made by :func:`command_parser` takes ``-q/--quiet`` (warnings only, no progress
bars) and ``-v/--verbose`` (debug logging); :func:`run_command` applies them before ``main``.

Example:
    >>> def main(args):
    ...     raise UsageError("--input x.tsv: file not found")
    >>> run_command(main, None, prog="demo")
    2
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from mcq.errors import UsageError

__all__ = [
    "EXTRAS",
    "PATH_ERRORS",
    "CommandFailed",
    "CommandParser",
    "CommandTree",
    "UsageError",
    "add_verbosity_flags",
    "apply_verbosity",
    "command_parser",
    "program",
    "run_command",
]

#: How the package commands were started, for their help and error lines: ``python -m``, or
#: ``zhongli`` when the ``zhongli`` command runs them.
LAUNCHER = "python -m"


#: The extra of ``pyproject.toml`` that installs each library the base install leaves out.
EXTRAS = {
    "torch": "models",
    "transformers": "models",
    "tokenizers": "models",
    "peft": "models",
    "accelerate": "models",
    "trl": "train",
    "bitsandbytes": "train",
    "deepspeed": "train",
    "tensorboard": "train",
    "vllm": "serve",
    "gradio": "app",
    "gradio_client": "app",
}


#: The ``OSError`` kinds that a user fixes by naming another path (or fixing its permissions):
#: exit 2 with the path, as for a :class:`UsageError`. Other ``OSError`` kinds are the machine's.
PATH_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)


class CommandFailed(RuntimeError):
    """A command could not finish for a reason outside the user's input (a worker process
    died, the hub refused an upload); ``str(err)`` is one line, and the exit code is 1."""


def program(package: str) -> str:
    """The name ``package``'s command goes by, as the user started it.

    Example:
        >>> program("rewards")
        'python -m rewards'
    """
    return f"{LAUNCHER} {package}"


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
        parser = CommandParser(prog=prog or name, **kwargs)
    else:
        parser = subparsers.add_parser(name, help=help, **kwargs)
    add_verbosity_flags(parser)
    return parser


class CommandParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``prog: error: message (see --help)``, exit 2.

    Example:
        >>> import contextlib, io
        >>> shown = io.StringIO()
        >>> with contextlib.redirect_stderr(shown), contextlib.suppress(SystemExit):
        ...     CommandParser(prog="demo").parse_args(["--nope"])
        >>> shown.getvalue()
        'demo: error: unrecognized arguments: --nope (see --help)\\n'
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


@dataclass(frozen=True)
class CommandTree:
    """A package's command line, ``python -m PACKAGE COMMAND ...``, built from command modules.

    ``commands`` maps each subcommand to the module that defines it (``make_parser(subparsers)``
    + ``main(args)``), in ``--help`` order; a package that is one command gives that module
    alone. :meth:`main` imports only the module of the command it runs.

    Example:
        >>> tree = CommandTree("rewards", {"list": "rewards.commands.list"}, "Score answers.")
        >>> tree.make_parser().prog
        'python -m rewards'
        >>> tree.main(["list", "--nope"])
        Traceback (most recent call last):
        ...
        SystemExit: 2
    """

    package: str
    commands: Mapping[str, str] | str
    description: str = ""
    epilog: str | None = None
    #: Commands whose unknown options go on to a library, as a list in this namespace attribute.
    passthrough: Mapping[str, str] = field(default_factory=dict)
    #: Error lines start ``rewards score:`` (the package name) rather than ``python -m rewards score:``.
    short_errors: bool = False

    def make_parser(self, only: str | None = None) -> argparse.ArgumentParser:
        """The parser; with ``only`` (a known command) the tree holds that command alone."""
        if isinstance(self.commands, str):
            return importlib.import_module(self.commands).make_parser()
        parser = CommandParser(
            prog=program(self.package),
            description=self.description,
            epilog=self.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        for name in [only] if only in self.commands else self.commands:
            importlib.import_module(self.commands[name]).make_parser(sub)
        return parser

    def main(self, argv: Sequence[str] | None = None) -> int:
        """Parse ``argv`` and run its command; returns the exit code (``--help`` and argparse
        errors exit through ``SystemExit``, 0 and 2, as argparse does)."""
        argv = list(sys.argv[1:] if argv is None else argv)
        tree = not isinstance(self.commands, str)
        command = argv[0] if tree and argv and argv[0] in self.commands else None
        prog = self.package if self.short_errors else program(self.package)
        return run_command(self._parse_and_run, argv, prog=f"{prog} {command}" if command else prog)

    def _parse_and_run(self, argv: list[str]) -> int | None:
        parser = self.make_parser(only=argv[0] if argv else None)
        args, extra = parser.parse_known_args(argv)
        command = getattr(args, "command", None)
        if extra and command not in self.passthrough:
            _chosen(parser, command).error(f"unrecognized arguments: {' '.join(extra)}")
        if command in self.passthrough:
            setattr(args, self.passthrough[command], extra)
        apply_verbosity(args)
        return args.func(args)


def _chosen(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    """The parser of ``command`` when it prints one-line errors, else ``parser`` itself."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(command)
            if isinstance(chosen, CommandParser):
                return chosen
    return parser


def add_verbosity_flags(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` the house's ``-q/--quiet`` and ``-v/--verbose`` (one or the other).

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_verbosity_flags(p)
        >>> vars(p.parse_args(["-q"]))
        {'quiet': True, 'verbose': False}
    """
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q", "--quiet", action="store_true", help="warnings and errors only; no progress bars"
    )
    group.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def apply_verbosity(args: Any) -> None:
    """Set logging and progress bars for ``args.quiet`` / ``args.verbose`` (absent: unchanged).

    Progress bars are switched off through the environment (read when tqdm, huggingface_hub
    and datasets are imported, which commands do lazily) and through each library's own
    switch when it is already imported; a command on a transformers ``TrainingArguments``
    gets ``disable_tqdm`` and ``log_level`` set on its namespace.
    """
    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", False)
    if not (quiet or verbose):
        return
    import logging

    level = logging.WARNING if quiet else logging.DEBUG
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(name)s: %(message)s")
    root.setLevel(level)
    if hasattr(args, "log_level"):
        args.log_level = "warning" if quiet else "debug"
    if verbose:
        os.environ["VLLM_LOGGING_LEVEL"] = "DEBUG"
        os.environ["TRANSFORMERS_VERBOSITY"] = "debug"
        return
    for name in (
        "TQDM_DISABLE",
        "HF_HUB_DISABLE_PROGRESS_BARS",
        "HF_DATASETS_DISABLE_PROGRESS_BARS",
    ):
        os.environ[name] = "1"
    os.environ["VLLM_LOGGING_LEVEL"] = "WARNING"
    if hasattr(args, "disable_tqdm"):
        args.disable_tqdm = True
    for module, switch in (
        ("huggingface_hub.utils", "disable_progress_bars"),
        ("datasets", "disable_progress_bars"),
        ("transformers.utils.logging", "disable_progress_bar"),
    ):
        if module in sys.modules:
            getattr(sys.modules[module], switch)()


def run_command(
    main: Callable[[Any], int | None], args: Any, *, prog: str, stream: Any = None
) -> int:
    """Call ``main(args)`` and turn how it ended into an exit code (see the module docstring).

    ``prog`` starts the one error line (``python -m rewards score: error: …``).
    """
    err = stream if stream is not None else sys.stderr
    try:
        apply_verbosity(args)
        return int(main(args) or 0)
    except UsageError as exc:
        print(f"{prog}: error: {exc}", file=err)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=err)
        return 130
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get((exc.name or "").partition(".")[0])
        if extra is None:
            raise
        print(
            f"{prog}: failed: {exc.name} is not installed; this command needs "
            f"pip install 'zhongli[{extra}]' (or zhongli[all])",
            file=err,
        )
        return 1
    except BrokenPipeError:
        # The reader went away: silence the flush at exit as well.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except CommandFailed as exc:
        print(f"{prog}: failed: {exc}", file=err)
        return 1
    except OSError as exc:
        why = " ".join((exc.strerror or str(exc) or type(exc).__name__).split())
        logging.getLogger(__name__).debug("%s failed", prog, exc_info=True)  # -v: the traceback
        if isinstance(exc, PATH_ERRORS) and exc.filename:
            print(f"{prog}: error: {exc.filename}: {why}", file=err)
            return 2
        print(
            f"{prog}: failed: {why}: {exc.filename}" if exc.filename else f"{prog}: failed: {why}",
            file=err,
        )
        return 1
