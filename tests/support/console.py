"""The installed console script's command line, as a test process runs it.

The script's entry point is read from pyproject.toml, so a test of "the command a user runs"
runs the same function the installed ``restoration-audit`` runs, from the source tree.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def console_argv(root: Path = ROOT) -> list[str]:
    """``[python, -c, ...]`` that runs the ``restoration-audit`` entry point named in
    ``root``'s pyproject.toml (this checkout's by default); append its arguments."""
    scripts = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["restoration-audit"].split(":")
    program = f"import sys; from {module} import {function}; sys.exit({function}())"
    # -P: the current directory must not shadow the checkout that PYTHONPATH names.
    return [sys.executable, "-P", "-c", program]
