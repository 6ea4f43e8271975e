"""Host synchronisations per device batch do not grow with the batch size (issue 15, item 3).

A per-pair ``.item()`` in the batch path would cost one device round trip per pair on a GPU;
counted on the CPU with the torch profiler (tests/support/host_syncs.py). No timing here.
"""

from __future__ import annotations

import pytest

from api_schemas import AuditOptions
from tests.support.host_syncs import BatchCounts, profile_counts
from tests.support.sample_pairs import crops, degrade, to_tensor
from workers.engine import PairSource, run_audit

SIZE = 48
PAIRS = 8


@pytest.fixture(scope="module")
def pairs() -> list[PairSource]:
    return [
        PairSource(f"p{i}", "default", to_tensor(x), to_tensor(degrade(x, "noise", seed=i)))
        for i, x in enumerate(crops(PAIRS, SIZE, seed=1))
    ]


@pytest.fixture(scope="module")
def counts(pairs: list[PairSource]) -> tuple[list[BatchCounts], list[BatchCounts]]:
    """The batches of the same pairs audited in batches of 2 and in one batch."""
    options = AuditOptions()
    small, _ = profile_counts(lambda: run_audit(pairs, options, device="cpu", batch_size=2))
    large, _ = profile_counts(lambda: run_audit(pairs, options, device="cpu", batch_size=PAIRS))
    return small, large


def test_syncs_per_batch_do_not_grow_with_the_batch_size(
    counts: tuple[list[BatchCounts], list[BatchCounts]],
) -> None:
    small, large = counts
    # The ranges were seen, one per batch.
    assert len(small) == PAIRS // 2
    assert len(large) == 1
    assert large[0].syncs > 0  # the counter sees the batch's syncs (e.g. the quantisation check)
    # Both first batches start the group alike: a per-pair sync would add PAIRS - 2 here.
    assert large[0].syncs - small[0].syncs == 0
    assert {b.syncs for b in small[1:]} == {small[0].syncs}


def test_operator_calls_per_batch_do_not_grow_with_the_batch_size(
    counts: tuple[list[BatchCounts], list[BatchCounts]],
) -> None:
    """A Python loop over pairs issuing operators would launch kernels per pair on a GPU."""
    small, large = counts
    assert large[0].operators == small[0].operators
