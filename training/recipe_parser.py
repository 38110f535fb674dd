"""TRL's parser taking ``--config RECIPE.yaml`` wherever it is parsed, with one-line errors.

Imports TRL (seconds), so :mod:`training.recipe_cli` imports it only when a command runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from trl import TrlParser

from mcq.errors import UsageError
from mcq.files import read_yaml

__all__ = ["RecipeParser", "pop_config", "read_recipe"]


class RecipeParser(TrlParser):
    """``TrlParser`` whose ``parse_known_args`` reads ``--config`` too (as a subcommand's parse
    and ``recipe_arguments`` call it): the recipe's values become the defaults, the command
    line overrides them, and the namespace keeps the path as ``config``. A bad option is a
    :class:`UsageError` (one line, exit 2, under whichever launcher named the command)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        recipe = pop_config(args)
        if recipe is not None:
            self.use_defaults(read_recipe(recipe), f"recipe {recipe}")
        namespace, extras = super().parse_known_args(args, namespace)
        if recipe is not None:
            namespace.config = recipe
        return namespace, extras

    def use_defaults(self, values: dict[str, Any], source: str) -> None:
        """Make ``values`` (option name to value) the defaults; an unknown name is an error."""
        unknown = self.set_defaults_with_config(**values)
        if unknown:
            raise UsageError(f"{source}: unknown options {', '.join(unknown[::2])}")


def pop_config(args: list[str]) -> str | None:
    """Take ``--config PATH`` out of ``args`` (in place); the path, or None."""
    if "--config" not in args:
        return None
    at = args.index("--config")
    if at + 1 >= len(args):
        raise UsageError("--config needs a recipe file (YAML)")
    recipe = args[at + 1]
    del args[at : at + 2]
    return recipe


def read_recipe(recipe: str | Path) -> dict[str, Any]:
    """A recipe's option values; its ``env:`` mapping goes into the environment."""
    path = Path(recipe)
    if not path.is_file():
        raise UsageError(f"{recipe}: recipe not found")
    values = read_yaml(path, "recipe")
    if not isinstance(values, dict):
        raise UsageError(f"recipe {recipe}: must be a YAML mapping of option: value")
    env = values.pop("env", {}) or {}
    if not isinstance(env, dict):
        raise UsageError(f"recipe {recipe}: env must be a mapping")
    for key, value in env.items():
        os.environ[str(key)] = str(value)
    return values
