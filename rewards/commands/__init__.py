"""The subcommands of ``python -m rewards``: one module each, ``make_parser(subparsers=None)`` + ``main(args)``."""
