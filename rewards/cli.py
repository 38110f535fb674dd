"""``python -m rewards``: score completion files, list components and presets, explain one text.

Each subcommand is a module in :mod:`rewards.commands` with ``make_parser(subparsers=None)`` +
``main(args)``; :class:`mcq.cli.CommandTree` builds the tree and maps the outcome to the exit code.
"""

from __future__ import annotations

from mcq.cli import CommandTree

__all__ = ["CLI", "COMMANDS", "main", "make_parser"]

EPILOG = """\
examples:
  python -m rewards score --input outputs/detailed_results.csv --output scored.csv
  python -m rewards score --input assets/data/sample_train.tsv --preset seed
  python -m rewards list
  python -m rewards explain "答案：B\\n理由：這並非唯一的看法，各方可能有不同觀點。" --gold B

score reads JSONL ({"id", "completion", ...}), CSV/TSV with a completion or response column
(detailed_results.csv), or the training TSV, whose rows are scored as
"答案：{correct_answer}\\n理由：{reasoning}".
exit status: 0 ok, 2 bad input (one line on stderr), 130 interrupted, 1 failure.
"""


#: Each subcommand and the module that defines it, in ``--help`` order.
COMMANDS = {
    "score": "rewards.commands.score",
    "list": "rewards.commands.list",
    "explain": "rewards.commands.explain",
}

CLI = CommandTree(
    "rewards",
    COMMANDS,
    "Score model answers with zhongli's reward registry.",
    EPILOG,
    short_errors=True,
)
make_parser = CLI.make_parser
main = CLI.main
