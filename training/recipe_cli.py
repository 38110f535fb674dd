"""The recipe commands ``training grpo`` and ``training rm``: one shape, in TRL's style.

Each command is a :class:`RecipeCommand`: three dataclasses parsed together by TRL's parser
(:class:`training.recipe_parser.RecipeParser`), whose defaults come from ``--config RECIPE.yaml``
and whose command-line values win. TRL's parser holds ~200 options and importing TRL takes
seconds, so the command tree holds a plain placeholder that hands everything after the command
name to the real parser only when the command runs (``python -m training check-data`` and
``python -m training --help`` never import TRL).

Example:
    >>> import argparse
    >>> tree = argparse.ArgumentParser(prog="python -m training")
    >>> sub = tree.add_subparsers(dest="command")
    >>> demo = RecipeCommand("demo", "a recipe command", "", "", config="")
    >>> _ = demo.make_parser(sub)
    >>> args, rest = tree.parse_known_args(["demo", "-q", "--max_steps", "3"])
    >>> args.quiet, rest
    (True, ['--max_steps', '3'])
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcq.cli import add_verbosity_flags
from mcq.errors import UsageError
from training.runlog import one_line

__all__ = ["ARGV", "RecipeCommand"]

#: The namespace attribute that carries a recipe command's own arguments through the tree.
ARGV = "recipe_argv"


@dataclass(frozen=True)
class RecipeCommand:
    """A training command: ``make_parser(subparsers=None)`` + ``main(args)``, as every command."""

    #: The command, and its module ``training.<name>`` with ``ScriptArguments`` and
    #: ``train(script_args, training_args, model_args, *, recipe)``.
    name: str
    help: str
    description: str
    epilog: str
    #: ``"module:attr"`` of the trainer's config dataclass, loaded when the command runs.
    config: str

    @property
    def kinds(self) -> tuple[str, str, str]:
        """``"module:attr"`` of (script arguments, trainer config, model config)."""
        return (f"training.{self.name}:ScriptArguments", self.config, "trl:ModelConfig")

    @property
    def prog(self) -> str:
        return f"python -m training {self.name}"

    def make_parser(self, subparsers: Any | None = None) -> argparse.ArgumentParser:
        """TRL's parser over the three dataclasses (stand-alone), or the command's placeholder."""
        if subparsers is None:
            from training.recipe_parser import RecipeParser

            return RecipeParser(
                self.dataclasses(),
                prog=self.prog,
                description=self.description,
                epilog=self.epilog,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        # Its arguments (and --help) go on, as ARGV, to the parser above when main() runs.
        parser = subparsers.add_parser(
            self.name, help=self.help, add_help=False, allow_abbrev=False
        )
        add_verbosity_flags(parser)
        parser.set_defaults(func=self.main)
        return parser

    def main(self, args: argparse.Namespace) -> int:
        """Train from ``args``: the tree's (its ARGV parsed now) or the stand-alone parser's."""
        if hasattr(args, ARGV):
            parser = self.make_parser()
            add_verbosity_flags(parser)  # handled by the tree already; listed in --help
            args = parser.parse_args(getattr(args, ARGV))
        script_args, training_args, model_args = self.arguments_from(args)
        train = _load(f"training.{self.name}:train")
        train(script_args, training_args, model_args, recipe=getattr(args, "config", None))
        return 0

    def dataclasses(self) -> tuple[type, ...]:
        return tuple(_load(kind) for kind in self.kinds)

    def arguments_from(self, args: argparse.Namespace) -> tuple[Any, ...]:
        """The namespace as the three dataclasses, validated.

        TRL and transformers validate in ``__post_init__`` with ``ValueError``: one line, exit 2.
        """
        values = vars(args)
        built = []
        for kind in self.dataclasses():
            names = {f.name for f in dataclasses.fields(kind) if f.init}
            try:
                built.append(kind(**{k: v for k, v in values.items() if k in names}))
            except ValueError as err:
                raise UsageError(one_line(err)) from None
        return tuple(built)

    def recipe_arguments(
        self, recipe: str | Path, argv: list[str] | tuple[str, ...] = (), **values: Any
    ) -> tuple[Any, ...]:
        """The dataclasses from ``recipe``, then ``values`` (by option name), then ``argv``."""
        kinds = self.dataclasses()
        names = {f.name for kind in kinds for f in dataclasses.fields(kind) if f.init}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UsageError(f"unknown options: {', '.join(unknown)}")
        from training.recipe_parser import read_recipe

        parser = self.make_parser()
        parser.use_defaults({**read_recipe(recipe), **values}, f"recipe {recipe}")
        namespace, extras = parser.parse_known_args(list(argv))
        if extras:
            raise UsageError(f"unknown options: {' '.join(extras)}")
        namespace.config = str(recipe)
        return self.arguments_from(namespace)


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
