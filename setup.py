"""The package list, which pyproject.toml cannot say alone: the top-level folders and their
subpackages, found as they are added, plus ``mcq._assets`` (``assets/``, mapped in
pyproject.toml). Everything else about the package is in pyproject.toml."""

from setuptools import find_packages, setup

TOP_LEVEL = ("zhongli", "mcq", "rewards", "training", "inference", "evals", "app")

setup(
    packages=find_packages(include=[f"{name}{tail}" for name in TOP_LEVEL for tail in ("", ".*")])
    + ["mcq._assets"]
)
