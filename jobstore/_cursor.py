"""Opaque page tokens of job listings: the position after a page's last item.

A token records the listing's sequence score and its ``state`` filter, so it cannot be used
with another filter; it is base64url JSON, opaque to clients but not secret.
"""

from __future__ import annotations

import base64
import binascii
import json

from api_schemas.jobs import JobState
from jobstore.errors import InvalidPageTokenError


def encode_token(score: int, state: JobState | None) -> str:
    """The token of the page that starts after ``score``."""
    raw = json.dumps({"v": 1, "s": score, "f": state}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, state: JobState | None) -> int:
    """The score a token continues after; raises ``InvalidPageTokenError`` if foreign."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        score = data["s"]
        if data.get("v") != 1 or data.get("f") != state:
            raise ValueError("token of another listing")
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score < 2**53:
            raise ValueError("not a position this store issues")
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise InvalidPageTokenError("expected a page token issued for this listing") from exc
    return score
