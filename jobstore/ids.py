"""Job ids: generated server side as ``uuid4().hex`` and checked on every use in a key or path."""

from __future__ import annotations

import re
import uuid

from jobstore.errors import InvalidJobIdError

_JOB_ID = re.compile(r"[0-9a-f]{32}")


def new_job_id() -> str:
    """A fresh job id: 32 lowercase hex digits."""
    return uuid.uuid4().hex


def is_valid_job_id(job_id: str) -> bool:
    """Whether ``job_id`` has the form of an id this server generates."""
    return _JOB_ID.fullmatch(job_id) is not None


def validate_job_id(job_id: str) -> str:
    """Return ``job_id`` unchanged, or raise ``InvalidJobIdError`` if it is malformed."""
    if not is_valid_job_id(job_id):
        raise InvalidJobIdError(f"expected 32 lowercase hex digits, got {job_id[:80]!r}")
    return job_id
