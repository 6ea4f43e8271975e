"""Service tests: the real app over ASGI, against the session's real Redis server."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from service.main import create_app
from service.settings import ServiceSettings

KEYS = {"acme": "key-of-acme", "globex": "key-of-globex"}


def auth(tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


def png(size: tuple[int, int] = (16, 12), mode: str = "RGB", seed: int = 0) -> bytes:
    w, h = size
    pixels = bytes((x * 7 + y * 13 + seed * 31) % 256 for y in range(h) for x in range(w))
    im = Image.frombytes("L", size, pixels).convert(mode)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def batch(n: int = 2, size: tuple[int, int] = (16, 12), **options: object) -> dict[str, object]:
    """Keyword arguments of ``client.post`` for a batch of ``n`` valid pairs."""
    files = [("ground_truth", (f"gt{i}.png", png(size, seed=i), "image/png")) for i in range(n)]
    files += [("restored", (f"r{i}.png", png(size, seed=i + 10), "image/png")) for i in range(n)]
    data = {"options": json.dumps(options)} if options else {}
    return {"files": files, "data": data}


@pytest.fixture
def settings(redis_server, redis_client, tmp_path) -> ServiceSettings:
    return ServiceSettings(
        redis_url=redis_server.url,
        data_dir=tmp_path / "data",
        api_keys={t: hashlib.sha256(k.encode()).hexdigest() for t, k in KEYS.items()},
        max_jobs_in_flight_per_tenant=3,
        max_pairs_per_job=4,
        readiness_cache_seconds=0,
        worker_ping_timeout_seconds=0.2,
    )


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), headers=auth("acme")) as test_client:
        yield test_client
