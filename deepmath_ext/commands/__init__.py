"""One module per `deepmath` subcommand (`add_arguments` + `run`), and the option types they share."""

from __future__ import annotations

import argparse
import math
from types import ModuleType
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (`PROG: error: ...`), as every other refusal is."""

    def error(self, message: str) -> NoReturn:
        """Print the one line and exit with argparse's status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def command_parser(module: ModuleType, prog: str, description: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of a command module, with the module attached as `_module`."""
    parser = OneLineParser(prog=prog, description=description or module.__doc__)
    module.add_arguments(parser)
    parser.set_defaults(_module=module)
    return parser


def comma_separated(text: str) -> list[str]:
    """The non-empty, stripped items of a comma-separated option value ("a, b,,c" -> [a, b, c])."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
    return items


def grading_policy(text: str) -> str:
    """A grading policy: a built-in, an installed entry point or `pkg://module:attribute` (else a usage error)."""
    from deepmath_ext.verify import get_policy

    try:
        get_policy(text)
    except ValueError as error:  # unknown, or a plug-in that does not load: the message names it
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def grading_policies(text: str) -> list[str]:
    """Comma-separated grading policies, each checked as `grading_policy` checks it."""
    return [grading_policy(item) for item in comma_separated(text)]


def policies_help() -> str:
    """The policies an option accepts, for its help: every built-in and installed name, and module paths."""
    from deepmath_ext.verify import policy_names

    return f"{', '.join(policy_names())}, or pkg://module:attribute"


def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _ranged(kind: type, low: float, high: float = math.inf, low_open: bool = False, what: str = ""):
    def parse(text: str) -> float:
        value = _number(text, kind)
        if value < low or (low_open and value == low) or value > high:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


finite_float = _ranged(float, -math.inf, what="a finite number")
positive_int = _ranged(int, 1, what="an integer >= 1")
non_negative_int = _ranged(int, 0, what="an integer >= 0")
positive_float = _ranged(float, 0.0, low_open=True, what="a number > 0")
non_negative_float = _ranged(float, 0.0, what="a number >= 0")
probability = _ranged(float, 0.0, 1.0, low_open=True, what="a number in (0, 1]")
unit_interval = _ranged(float, 0.0, 1.0, what="a number in [0, 1]")


def ranged_int(low: int, high: int):
    """An option type for an integer in [low, high]."""
    return _ranged(int, low, high, what=f"an integer in [{low}, {high}]")


def top_k(text: str) -> int:
    """-1 (no top-k) or a positive integer."""
    value = _number(text, int)
    if value != -1 and value < 1:
        raise argparse.ArgumentTypeError(f"must be -1 (off) or an integer >= 1, got {text}")
    return int(value)
