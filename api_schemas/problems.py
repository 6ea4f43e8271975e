"""RFC 9457 problem details: the body of every error answer of the HTTP API.

The service renders these as ``application/problem+json``; a failed job carries one in its
``error`` field, so workers build the same model when they record a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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
