"""``python -m app``: serve the zhongli Gradio app (see ``python -m app --help``)."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
