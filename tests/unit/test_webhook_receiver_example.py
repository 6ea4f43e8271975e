"""examples/webhook_receiver.py's ``verify`` (the README's receiver snippet) accepts what the
service signs and rejects tampered, wrongly keyed and stale events."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType

from api_schemas.callbacks import signature

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhook_receiver.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_receiver", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_verifies_what_the_service_signs() -> None:
    verify = _example().verify
    now = time.time()
    stamp = int(now)
    body = b'{"job_id":"x","state":"succeeded"}'
    signed = signature("s3cret", stamp, body)
    assert verify("s3cret", str(stamp), signed, body, now)
    assert not verify("s3cret", str(stamp), signed, body + b" ", now)  # tampered body
    assert not verify("other", str(stamp), signed, body, now)  # another tenant's secret
    assert not verify("s3cret", str(stamp), signed, body, now + 301)  # a replay, too late
    old = int(now) - 3600
    assert not verify("s3cret", str(old), signature("s3cret", old, body), body, now)
