"""The subcommands of ``python -m evals``: one module each, ``make_parser(subparsers=None)`` + ``main(args)``.

Each module keeps its heavy imports (numpy, matplotlib, the reward registry) inside ``main``,
so ``python -m evals --help`` stays quick. :mod:`evals.commands.options` holds the flags
several commands share.
"""
