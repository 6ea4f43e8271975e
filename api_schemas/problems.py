"""RFC 9457 problem details: the body of every error answer of the HTTP API.

The service renders these as ``application/problem+json``; a failed job carries one in its
``error`` field, so workers build the same model when they record a failure.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://restoration-audit.dev/problems/"
"""Problem ``type`` URIs are this base plus a short slug (``not-found``, ``invalid-image``)."""


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
