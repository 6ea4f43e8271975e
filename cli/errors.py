"""How every subcommand turns its errors into one line on stderr and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from api_schemas.exit_codes import EXIT_INPUT, EXIT_OVER_BUDGET, EXIT_USAGE

if TYPE_CHECKING:
    from pydantic import ValidationError


class UsageError(Exception):
    """The command line itself is wrong (exit 2)."""


class OverBudgetError(Exception):
    """The job does not fit the memory budget the command was given (exit 5)."""


def refused(
    error: ValidationError, prefix: str = "invalid option", default: str = "options"
) -> UsageError:
    """The usage error of a command-line value the wire model refused: its first error,
    located (``invalid option bootstrap.resamples: ...``; ``default`` where it has no place)."""
    from api_schemas.problems import error_location, error_message

    first = error.errors()[0]
    where = error_location(first["loc"]) or default
    return UsageError(f"{prefix} {where}: {error_message(first)}")


def exit_code(run: Callable[[], int], input_errors: tuple[type[Exception], ...]) -> int:
    """``run()``'s exit code; a usage error or one of ``input_errors`` is printed as one line
    (never a traceback) and answers ``EXIT_USAGE``, ``EXIT_OVER_BUDGET`` or ``EXIT_INPUT``."""
    try:
        return run()
    except UsageError as error:
        print(f"restoration-audit: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OverBudgetError as error:
        print(f"restoration-audit: over the memory budget: {error}", file=sys.stderr)
        return EXIT_OVER_BUDGET
    except input_errors as error:
        print(f"restoration-audit: input error: {error}", file=sys.stderr)
        return EXIT_INPUT
