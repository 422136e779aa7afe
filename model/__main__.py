"""python -m model <command> ...: train, eval, quantize, export, weights, finetune.

Each command lives in its own module, which exposes `register(subparsers)`; the parser
it adds sets `func` to the function that runs the command.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = ("model.train", "model.cli", "model.finetune")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as err:
        # Bad input: a clear one-line message, no traceback.
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
