"""RFC 9457 problem details: the body of every error answer of the HTTP API.

The service renders these as ``application/problem+json``; a failed job carries one in its
``error`` field, so workers build the same model when they record a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://restoration-audit.dev/problems/"
"""Problem ``type`` URIs are this base plus a short slug (``not-found``, ``invalid-image``)."""


_UNION_TAGS = frozenset({"downsample", "blur", "noise", "composite"})
"""The tags pydantic puts into an error's location inside the degradation's tagged union
(``api_schemas.degradation``): internal, not a field a client wrote."""
_VALIDATOR_PREFIXES = ("Value error, ", "Assertion failed, ")


def error_location(loc: Iterable[int | str]) -> str:
    """A pydantic error location as the path a client wrote: ``degradation.factor``,
    ``pairs[0].id``; union tags that are not fields are left out."""
    text = ""
    previous: int | str | None = None
    for item in loc:
        is_tag = item in _UNION_TAGS and (previous == "degradation" or isinstance(previous, int))
        previous = item
        if is_tag:
            continue
        text += f"[{item}]" if isinstance(item, int) else (f".{item}" if text else str(item))
    return text


def error_message(error: Mapping[str, Any]) -> str:
    """A pydantic error's message in the client's words: without pydantic's "Value error, "
    prefix, which names the exception class a validator raised."""
    message = str(error.get("msg") or "invalid")
    for prefix in _VALIDATOR_PREFIXES:
        message = message.removeprefix(prefix)
    return message


class ProblemError(BaseModel):
    """One offending part of a request, for example ``restored[3]``."""

    model_config = ConfigDict(extra="forbid")

    part: str = Field(description="The offending part: a form part with its index, a field path.")
    message: str = Field(description="What is wrong with it, in words.")


class Problem(BaseModel):
    """An RFC 9457 problem document.

    ``type`` is a URI naming the kind of problem (``about:blank`` when only the status says it),
    ``title`` is the short fixed summary of that kind, ``detail`` explains this occurrence.
    """

    model_config = ConfigDict(extra="ignore")

    type: str = "about:blank"
    title: str
    status: int = Field(ge=100, le=599)
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemError] | None = None
    estimated_memory_bytes: int | None = Field(
        default=None,
        description="Problems of type resources: the job's estimated peak memory in bytes.",
    )
    memory_limit_bytes: int | None = Field(
        default=None,
        description="Problems of type resources: a worker's memory budget for one job, bytes.",
    )


@dataclass(frozen=True)
class JobProblemType:
    """A kind of problem a worker records on a failed job: its slug, fixed title and status.

    The API's own problem kinds are ``DomainError`` classes in ``service.errors``; these are
    the ones written by the workers (the audit task and the lease sweeper), so both sides and
    the tests name them through one catalogue, ``JOB_PROBLEMS``.
    """

    slug: str
    title: str
    status: int

    @property
    def type(self) -> str:
        """The problem's ``type`` URI."""
        return PROBLEM_TYPE_BASE + self.slug

    def problem(self, detail: str, **extra: Any) -> dict[str, Any]:
        """The problem document as recorded in a failed job's ``error``."""
        return Problem(
            type=self.type, title=self.title, status=self.status, detail=detail, **extra
        ).model_dump(mode="json", exclude_none=True)


class JobProblems:
    """The problem kinds of failed jobs (see ``JobProblemType``)."""

    INVALID_INPUT: Final = JobProblemType("invalid-input", "Invalid input", 422)
    """The job's input cannot be audited; ``errors`` names the offending part."""
    MISSING_INPUT: Final = JobProblemType("missing-input", "Missing input", 500)
    """The job's manifest is missing or unreadable in the payload store."""
    TIME_LIMIT: Final = JobProblemType("time-limit", "Time limit", 500)
    """The audit ran past the soft or the hard time limit."""
    INTERNAL: Final = JobProblemType("internal", "Internal error", 500)
    """Any other failure of the audit (a defect: its log line has the traceback)."""
    SELFCHECK_UNBUILDABLE: Final = JobProblemType(
        "selfcheck-unbuildable", "Self-check not possible", 422
    )
    """A self-check's synthetic problem could not be built (docs/theory.md §3.12): conjugate
    gradients did not converge, or the synthetic images kept leaving [0, 1]."""


JOB_PROBLEMS: Final = JobProblems()
