"""zhongli: one command, ``zhongli``, over the packages (see :mod:`zhongli.cli`).

The version here is the package's (``pyproject.toml`` reads it from this line).
"""

__version__ = "0.1.0"
