"""HTTP caching helpers: entity tags, ``If-None-Match`` and poll hints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from jobstore import JobRecord

IMMUTABLE: Final = "private, max-age=31536000, immutable"
"""Cache-Control of finished, never-changing resources (reports, artifacts) of one tenant."""
NO_CACHE: Final = "private, no-cache"
"""Cache-Control of the job monitor: revalidate with ``If-None-Match`` every time."""


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` matches ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(_opaque(tag) == _opaque(etag) for tag in if_none_match.split(","))


def monitor_headers(job: JobRecord, poll_after_seconds: int) -> dict[str, str]:
    """Headers of a job's monitor (audit or self-check): its tag, revalidate every time, and
    while it runs a ``Retry-After`` poll hint."""
    headers = {"ETag": job.etag, "Cache-Control": NO_CACHE}
    if not job.finished:
        headers["Retry-After"] = str(poll_after_seconds)
    return headers
