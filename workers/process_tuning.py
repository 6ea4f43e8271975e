"""Process settings of the engine's processes: the ``audit`` command's and a worker's pool
children (issue #15 item 1).

Both are measured by ``benchmarks/bench_whole_process.py`` (figures in benchmarks/README.md).
The console script applies them to its own process (``cli.main.main`` without an argv), never
to a program that imports the engine (tests, embedding); its entry point, ``cli.console``,
freezes the imports. A worker's pool children get the passive waits and the frozen imports
(``workers.celery_app``) but not the kept heap, and neither does the command under
``--max-memory``:
a process that runs under a memory budget keeps the system allocator, because the budget's
model (``api_schemas/cost.py``) is calibrated to it; with the kept heap measured peaks
exceeded its estimate by up to 1.4x on some shapes (benchmarks/README.md, "Memory of a job").

**Freed memory is kept.** glibc's malloc serves blocks above its mmap threshold (128 KiB,
growing to at most 32 MiB) with a fresh ``mmap`` and unmaps them on ``free``; every later
allocation of that size is new pages that the kernel zero-fills on first touch. The engine's
per-batch tensors are tens of MB, so a plain audit spent a good part of its CPU time in the
kernel (system time and minor page faults). Serving every block from the heap and never
trimming it lets later batches reuse the pages of earlier ones. The cost: the process keeps
its peak heap until it exits, which suits a command that exits once the report is written.

**Idle OpenMP threads sleep.** By default an OpenMP thread that waits at the end of a
parallel region spins (libgomp: 300 000 iterations) before it sleeps. The engine runs about
a thousand small operations per batch, so on a machine whose cores are shared with other
processes (a CI runner, a loaded VM) the waiting thread burns the core its partner needs:
on the project's loaded 2-core VM the default policy took 1.5-3x the CPU time of the passive
one for the same audit. A passive wait costs a futex wake per region on an idle machine,
microseconds against a batch's hundreds of milliseconds.

**Imported modules are frozen.** Importing torch and the engine leaves about 180 000
objects that the cyclic garbage collector tracks and that live until the process exits.
Every collection of the oldest generation during the audit walks all of them, and so do the
collections of interpreter shutdown. The command imports with the collector paused, then
moves what the imports made to the permanent generation (``gc.freeze``), which no
collection walks; it freezes again before exiting. Garbage made during the run is still
collected. The effect on the whole command is in benchmarks/README.md ("The whole command").
"""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager

OPT_OUT = "RESTORATION_AUDIT_SYSTEM_MALLOC"
"""Set to 1 to leave the C library's allocator settings alone."""

WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
"""Any of these set by the user keeps the OpenMP runtime's wait policy as the user chose."""

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_NEVER_TRIM = 2**31 - 1  # mallopt takes an int; 2 GiB of free heap top before trimming


def keep_freed_memory() -> bool:
    """Turn off glibc's ``mmap`` for large blocks and its heap trimming, for this process.

    Returns:
        True if the settings were applied; False on another C library, or when
        ``RESTORATION_AUDIT_SYSTEM_MALLOC=1`` opts out.
    """
    if os.environ.get(OPT_OUT) == "1" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    # mallopt returns 1 on success, 0 on a rejected value.
    return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM))


def passive_thread_waits() -> bool:
    """``OMP_WAIT_POLICY=PASSIVE`` for this process unless the user chose a wait policy.

    Must run before torch is imported (the OpenMP runtime reads it when it loads).

    Returns:
        True if the setting was made; False when one of :data:`WAIT_SETTINGS` is already
        set, or torch is already loaded.
    """
    if "torch" in sys.modules:
        return False
    return passive_thread_waits_in(os.environ)


def passive_thread_waits_in(environ: MutableMapping[str, str]) -> bool:
    """``OMP_WAIT_POLICY=PASSIVE`` in ``environ`` unless it names a wait policy: for the
    processes started with that environment (the worker's pool children, spawned after the
    worker set it; the worker's own process loaded torch already).

    Returns:
        True if the setting was made; False when one of :data:`WAIT_SETTINGS` is set.
    """
    if any(name in environ for name in WAIT_SETTINGS):
        return False
    environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


@contextmanager
def long_lived_imports() -> Iterator[None]:
    """Import inside this block with the cyclic garbage collector paused, then freeze what
    the block created (``gc.freeze``), so that no later collection walks it again.

    For modules that stay loaded until the process exits; the collector's state (on or off)
    is as before once the block ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
