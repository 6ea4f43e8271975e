"""Keep freed memory in the process for the one-shot ``audit`` command (issue #15 item 1).

glibc's malloc serves blocks above its mmap threshold (128 KiB, growing to at most 32 MiB)
with a fresh ``mmap`` and gives them back on ``free``; every later allocation of that size
is new pages that the kernel zero-fills on first touch. The engine's per-batch tensors are
tens of MB, so a plain audit spent about a third of its CPU time in the kernel (system time
and minor page faults, printed by ``benchmarks/bench_whole_process.py``). Serving every block
from the heap and never trimming it lets later batches reuse the pages of earlier ones.
The cost is that the process keeps its peak heap until it exits, which suits a command that
exits when the audit is written, not a long-lived worker (the worker does not call this).
"""

from __future__ import annotations

import ctypes
import os
import platform

OPT_OUT = "RESTORATION_AUDIT_SYSTEM_MALLOC"
"""Set to 1 to leave the C library's allocator settings alone."""

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
