"""Memory budget of a job at submission (issue #11, item 2): refuse what a worker cannot hold.

The estimate is ``api_schemas.cost``'s, the same model the worker checks before running a job,
from the image headers (sizes, channels) and the options. A job over ``RA_MAX_JOB_MEMORY_BYTES``
is a ``resources`` problem carrying the estimate and the limit: 413 naming the largest pair's
part when the pixels are too many even with the default options and one pair per batch, else
422 naming the option(s) that make it too big.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from api_schemas.cost import RESOURCES_SLUG, RESOURCES_TITLE, OverBudget, PairShape, over_budget
from api_schemas.options import AuditOptions
from api_schemas.problems import Problem
from service.errors import DomainError
from service.images import ImageHeader


class JobOverBudgetError(DomainError):
    """A job whose options make its estimated peak memory exceed a worker's budget."""

    status = 422
    slug = RESOURCES_SLUG
    title = RESOURCES_TITLE

    def __init__(self, over: OverBudget) -> None:
        super().__init__(over.detail)
        self.over = over

    def problem(self, instance: str | None = None) -> Problem:
        """The ``resources`` problem, with ``estimated_memory_bytes`` and
        ``memory_limit_bytes``."""
        return self.over.problem(instance)


class PixelsOverBudgetError(JobOverBudgetError):
    """A job whose images are too large for a worker's budget whatever the options."""

    status = 413


def pair_shapes(
    headers: Mapping[str, Sequence[ImageHeader]], groups: Sequence[str]
) -> list[PairShape]:
    """The cost model's view of the pairs: size and channels of each ground truth (of each
    sample in a ground-truth-free job, which then counts as a pair: an upper bound, since that
    audit holds one input's samples at a time)."""
    observations = headers.get("observation", [])
    role = "ground_truth" if headers.get("ground_truth") else "restored"
    return [
        PairShape(
            height=header.height,
            width=header.width,
            channels=header.channels,
            group=groups[i],
            observation=i < len(observations),
            part=f"{role}[{i}]",
        )
        for i, header in enumerate(headers[role])
    ]


def check_budget(
    headers: Mapping[str, Sequence[ImageHeader]],
    groups: Sequence[str],
    options: AuditOptions,
    budget: int,
) -> None:
    """Raise when the job would not fit ``budget`` bytes on a worker.

    Raises:
        PixelsOverBudgetError: The images are too large even with the default options (413).
        JobOverBudgetError: The options make the job too big (422).
    """
    over = over_budget(pair_shapes(headers, groups), options, budget)
    if over is None:
        return
    if over.status == 413:
        raise PixelsOverBudgetError(over)
    raise JobOverBudgetError(over)
