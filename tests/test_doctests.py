"""Every docstring example in the packages runs and shows what it claims.

One test per module of mcq, rewards, evals, inference, training, app and zhongli, found by walking the
packages, so a new module's examples are checked without being listed here. ``__main__``
modules are imported too, so an entry point that runs its CLI on import (no ``if __name__ ==
"__main__"`` guard) fails here. Skipped: :data:`HEAVY` modules, which import torch,
transformers and TRL at import time (30-40 s on this machine's 2 cores); their examples would
need those libraries to run anyway.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

PACKAGES = ("mcq", "rewards", "evals", "inference", "training", "app", "zhongli")

#: Modules whose import loads torch/transformers/TRL (checked with ``python -X importtime``).
HEAVY = {"training.grpo_trainer", "training.rm_trainer"}


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        path = importlib.import_module(package).__path__
        names += [info.name for info in pkgutil.walk_packages(path, f"{package}.")]
    return [n for n in names if n not in HEAVY]


@pytest.mark.parametrize("module_name", _modules())
def test_docstring_examples_run(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=False
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed (see stdout)"


def test_every_package_has_examples_that_run():
    counted: dict[str, int] = dict.fromkeys(PACKAGES, 0)
    finder = doctest.DocTestFinder()
    for name in _modules():
        module = importlib.import_module(name)
        examples = sum(len(test.examples) for test in finder.find(module))
        counted[name.partition(".")[0]] += examples
    assert all(counted.values()), f"packages without a single example: {counted}"
