"""Schemathesis hooks of the stateful CLI run (loaded through ``SCHEMATHESIS_HOOKS``).

Random bytes are never images, so every positive ``POST /v1/jobs`` case is sent a valid small
batch instead, with a fresh ``Idempotency-Key`` if it carries one: the chains then reach
queued, running, finished, cancelled and deleted jobs. Positive ``POST /v1/selfchecks`` cases
are sent the smallest valid self-check, for the same reason.

The hook registers only in the process that names this module in ``SCHEMATHESIS_HOOKS``:
pytest imports every module for doctests, and a hook registered in the test process would
change the in-process schemathesis run of tests/unit/service/test_contract.py.
"""

from __future__ import annotations

import io
import os
import uuid
from typing import Any

import numpy as np
import schemathesis
from PIL import Image


def _png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


VALID_BATCH = {
    "ground_truth": [_png(1), _png(2)],
    "restored": [_png(3), _png(4)],
    "options": '{"bootstrap": {"resamples": 20}, "knn_samples": 200}',
}


VALID_SELFCHECK = {
    # The smallest self-check the engine takes: a few seconds of worker time.
    "options": '{"degradation": "noise:0.05", "images": 2, "size": 32, "resamples": 0, '
    '"audit": {"knn_samples": 200}}',
}


def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Send a valid batch for positive ``POST /v1/jobs`` cases, and a valid small request for
    positive ``POST /v1/selfchecks`` ones."""
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if case.operation.method.upper() != "POST" or negative:
        return
    if case.operation.path == "/v1/selfchecks":
        case.body = dict(VALID_SELFCHECK)
        case.media_type = "multipart/form-data"
        return
    if case.operation.path != "/v1/jobs":
        return
    case.body = dict(VALID_BATCH)
    case.media_type = "multipart/form-data"
    if case.headers:
        case.headers = {
            name: uuid.uuid4().hex if name.lower() == "idempotency-key" else value
            for name, value in case.headers.items()
        }


if os.environ.get("SCHEMATHESIS_HOOKS") == __name__:
    schemathesis.hook(before_call)
