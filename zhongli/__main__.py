"""``python -m zhongli``: the same as the ``zhongli`` command (see :mod:`zhongli.cli`)."""

import sys

from zhongli.cli import main

if __name__ == "__main__":
    sys.exit(main())
