"""workers.process_tuning: the audit command's process reuses freed large blocks and lets idle
OpenMP threads sleep (issue #15 item 1)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from workers.process_tuning import OPT_OUT, WAIT_SETTINGS, passive_thread_waits_in

ROOT = Path(__file__).resolve().parents[3]

# Allocate and free a 64 MiB zeroed block twice; print whether the settings were applied and
# the minor page faults of the second allocation (fresh pages from the kernel fault once each).
PROBE = """
import resource, sys
from workers.process_tuning import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "tuned" else False
block = bytearray(64 << 20); del block
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
block = bytearray(64 << 20); del block
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _python(program: str, *args: str, environ: dict[str, str] | None = None) -> str:
    """Standard output of ``program`` in a fresh interpreter that imports this checkout: the
    process settings must not leak into the test run."""
    return subprocess.run(
        [sys.executable, "-c", program, *args],
        env={**(os.environ if environ is None else environ), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def _probe(mode: str, **env: str) -> tuple[bool, int]:
    out = _python(PROBE, mode, environ={**os.environ, **env}).split()
    return out[0] == "True", int(out[1])


@pytest.mark.integration  # starts a process: the settings must not leak into the test run
@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_second_large_block_reuses_pages_only_when_tuned() -> None:
    applied, tuned_faults = _probe("tuned")
    assert applied
    _, plain_faults = _probe("plain")
    # 64 MiB is 16384 pages of 4 KiB: plain glibc maps them afresh, tuned reuses the heap.
    assert plain_faults > 10_000
    assert tuned_faults < 1_000


@pytest.mark.integration  # starts a process
def test_opt_out_leaves_the_allocator_alone() -> None:
    applied, _ = _probe("tuned", **{OPT_OUT: "1"})
    assert not applied


WAITS = """
import os, sys
from workers.process_tuning import passive_thread_waits
print(passive_thread_waits(), os.environ.get("OMP_WAIT_POLICY"))
import torch
print(passive_thread_waits())
"""


@pytest.mark.integration  # starts a process: the environment must not leak into the test run
@pytest.mark.parametrize(
    ("user", "expected"),
    [({}, "True PASSIVE\nFalse"), ({"GOMP_SPINCOUNT": "1000"}, "False None\nFalse")],
)
def test_passive_waits_before_torch_unless_the_user_chose(
    user: dict[str, str], expected: str
) -> None:
    environment = {key: value for key, value in os.environ.items() if key not in WAIT_SETTINGS}
    out = _python(WAITS, environ={**environment, **user}).strip()
    assert out == expected  # and never once torch is loaded: too late for the runtime


def test_waits_for_spawned_children_respect_the_operators_choice() -> None:
    fresh: dict[str, str] = {}
    assert passive_thread_waits_in(fresh)
    assert fresh == {"OMP_WAIT_POLICY": "PASSIVE"}
    chosen = {"KMP_BLOCKTIME": "0"}
    assert not passive_thread_waits_in(chosen)
    assert chosen == {"KMP_BLOCKTIME": "0"}


COLLECTOR = """
import gc
from workers.process_tuning import long_lived_imports
before = gc.get_freeze_count()
with long_lived_imports():
    paused = not gc.isenabled()
    import decimal  # a module this interpreter has not loaded yet
print(paused, gc.isenabled(), gc.get_freeze_count() > before, gc.is_tracked(decimal.__dict__))
gc.disable()
with long_lived_imports():
    pass
print(gc.isenabled())
"""


@pytest.mark.integration  # starts a process: frozen objects must not leak into the test run
def test_long_lived_imports_pause_the_collector_then_freeze_what_they_made() -> None:
    out = _python(COLLECTOR).split("\n")
    # Paused inside, on again after, the import's objects frozen (still tracked: frozen
    # objects stay in the collector's lists, in the permanent generation it never walks).
    assert out[0] == "True True True True"
    assert out[1] == "False"  # a collector that was off stays off


POOL_CHILD = """
import gc, sys
from celery.signals import worker_process_init
import workers.celery_app  # connects the receivers
before = gc.get_freeze_count()
worker_process_init.send(sender=None)  # what Celery sends in each new pool child
print(gc.get_freeze_count() > before, "torch" in sys.modules, gc.isenabled())
"""


@pytest.mark.integration  # starts a process: frozen objects must not leak into the test run
def test_a_pool_child_freezes_the_engine_when_it_starts() -> None:
    out = _python(POOL_CHILD).split("\n")[-2]
    assert out == "True True True"
