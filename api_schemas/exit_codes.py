"""Exit codes of the ``restoration-audit`` command: a contract with the pipelines that run it.

One table for every subcommand (``audit``, ``selfcheck``, ``serve``, ``worker``): a CI job can
tell "the audit ran and found risk" from "the command line was wrong" from "an input was bad".
"""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
"""Done, and nothing reached the failure threshold."""
EXIT_HIGH_RISK: Final = 1
"""``audit``: a restorer's risk reached ``--fail-on``."""
EXIT_CHECK_FAILED: Final = 1
"""``selfcheck``: at least one check did not hold."""
EXIT_USAGE: Final = 2
"""The command line is wrong (unknown option, bad value, settings refused)."""
EXIT_INPUT: Final = 3
"""An input could not be read or audited (the message names it)."""
EXIT_REGRESSION: Final = 4
"""``compare --fail-on-regression``: the candidate regresses on its baseline under the rule
the command prints (a code of its own, so a CI job tells it from a failed audit)."""
EXIT_OVER_BUDGET: Final = 5
"""``audit --max-memory``: the job does not fit the memory budget even one pair per batch
with its patch statistics in row bands (the message says what to change)."""
EXIT_SERVE_FAILED: Final = 1
"""``serve``: the service could not start or stopped on its own (its port in use, the API
exiting); not a usage error, since the same command works once the cause is gone."""
