"""How every subcommand turns its errors into one line on stderr and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable

from api_schemas.exit_codes import EXIT_INPUT, EXIT_USAGE


class UsageError(Exception):
    """The command line itself is wrong (exit 2)."""


def exit_code(run: Callable[[], int], input_errors: tuple[type[Exception], ...]) -> int:
    """``run()``'s exit code; a usage error or one of ``input_errors`` is printed as one line
    (never a traceback) and answers ``EXIT_USAGE`` or ``EXIT_INPUT``."""
    try:
        return run()
    except UsageError as error:
        print(f"restoration-audit: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except input_errors as error:
        print(f"restoration-audit: input error: {error}", file=sys.stderr)
        return EXIT_INPUT
