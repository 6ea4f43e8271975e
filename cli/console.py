"""The installed ``restoration-audit`` script: :func:`cli.main.main` in a process of its own.

Kept apart from :mod:`cli.main`, which tests and embedding programs call in their own
processes, because it changes the whole process: the command's modules are imported under
``workers.process_tuning.long_lived_imports`` and everything alive at the end is frozen, so
that neither the run's collections nor the interpreter's shutdown walk it.
"""

from __future__ import annotations

import gc
import sys
from typing import NoReturn

from workers.process_tuning import long_lived_imports


def run() -> NoReturn:
    """Entry point of the console script."""
    with long_lived_imports():
        from cli.main import main
    code = main()
    gc.freeze()  # the report is written; shutdown's collections need not walk anything
    sys.exit(code)
