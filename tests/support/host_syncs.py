"""Operator launches and host synchronisations inside the engine's per-batch profiler range.

On a CPU the torch profiler cannot see a device-to-host copy, but every ``.item()``,
``float(t)``, ``int(t)`` and ``bool(t)`` of a tensor reaches ``aten::_local_scalar_dense``,
which on a GPU waits for the device (issue 15, item 3: syncs per batch must be O(1)).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch.autograd.profiler_util import FunctionEvent

from workers.engine.audit import BATCH_RANGE

SYNC_OPS = frozenset({"aten::_local_scalar_dense"})
"""What a host synchronisation reaches (``aten::item`` calls it, so counting both doubles)."""


@dataclass(frozen=True)
class BatchCounts:
    """One device batch: operators called and host synchronisations."""

    operators: int
    """aten operators called from Python (not those nested in another aten operator):
    on a GPU each is at least one kernel launch."""
    syncs: int
    """``aten::_local_scalar_dense`` calls anywhere below the batch range."""


def _below(event: FunctionEvent) -> Iterator[FunctionEvent]:
    for child in event.cpu_children:
        yield child
        yield from _below(child)


def _top_level_operators(event: FunctionEvent) -> int:
    count = 0
    for child in event.cpu_children:
        if child.name.startswith("aten::"):
            count += 1  # its own aten children are its implementation, not extra launches
        else:
            count += _top_level_operators(child)
    return count


def _counts(roots: list[FunctionEvent]) -> BatchCounts:
    return BatchCounts(
        operators=sum(_top_level_operators(r) for r in roots),
        syncs=sum(1 for r in roots for e in (r, *_below(r)) if e.name in SYNC_OPS),
    )


def profile_counts(run: Callable[[], object]) -> tuple[list[BatchCounts], BatchCounts]:
    """Run ``run`` (an audit) under the CPU profiler: the counts of each batch range in order,
    and of the whole run (every thread, batches included)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        run()
    events = list(prof.events())
    ranges = sorted((e for e in events if e.name == BATCH_RANGE), key=lambda e: e.time_range.start)
    whole = BatchCounts(
        operators=sum(
            1 if e.name.startswith("aten::") else _top_level_operators(e)
            for e in events
            if e.cpu_parent is None
        ),
        syncs=sum(1 for e in events if e.name in SYNC_OPS),
    )
    return [_counts([r]) for r in ranges], whole
