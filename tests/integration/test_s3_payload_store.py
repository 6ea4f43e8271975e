"""The S3 backend of the payload store on its own, against a real S3-compatible server process
(moto in server mode on a loopback port, ``tests/fixtures/s3_server.py``): what each call
leaves in the bucket, and how the store's faults surface."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from jobstore.errors import JobNotFoundError, StoreUnavailableError
from jobstore.ids import new_job_id
from jobstore.objectstore import MULTIPART_THRESHOLD, S3PayloadStore, open_payload_store
from tests.fixtures.s3_server import S3Server, outage

pytestmark = pytest.mark.integration


class _Records:
    """The one question the sweeper asks of the job records."""

    def __init__(self, alive: set[str]) -> None:
        self.alive = alive

    def exists(self, job_id: str) -> bool:
        return job_id in self.alive


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    saved = dict(os.environ)
    with S3Server() as server:
        os.environ.update(server.env())  # boto3 in this process reads AWS_* like the services
        try:
            yield server
        finally:
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture
def store(s3: S3Server, tmp_path: Path, request: pytest.FixtureRequest) -> S3PayloadStore:
    """A store under a prefix of its own, so that tests do not see each other's objects."""
    prefix = f"unit/{request.node.name}"
    opened = open_payload_store(f"s3://{s3.bucket}/{prefix}", tmp_path / "scratch")
    assert isinstance(opened, S3PayloadStore)
    return opened


def _keys(s3: S3Server, store: S3PayloadStore, job_id: str) -> list[str]:
    return sorted(key.rsplit(f"/jobs/{job_id}/", 1)[1] for key in s3.keys(store._key(job_id)))


def test_large_input_is_uploaded_in_parts_and_read_back_whole(
    s3: S3Server, store: S3PayloadStore
) -> None:
    job_id = new_job_id()
    data = np.random.default_rng(1).bytes(MULTIPART_THRESHOLD + (3 << 20))
    store.write_input(job_id, "gt.png", io.BytesIO(data))
    head = s3.client().head_object(Bucket=s3.bucket, Key=store._key(job_id, "input", "gt.png"))
    # A completed multipart upload's ETag ends in "-<parts>" (S3's documented form).
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-2")
    local = store.input_dir(job_id) / "gt.png"
    assert local.read_bytes() == data
    assert _keys(s3, store, job_id) == [".job", "input/gt.png"]
    assert store.stored_bytes(job_id) == len(data)


def test_report_is_absent_until_written_and_writes_need_the_job(
    s3: S3Server, store: S3PayloadStore
) -> None:
    job_id = new_job_id()
    with pytest.raises(JobNotFoundError):
        store.write_report(job_id, b"{}")  # no marker: no such job
    assert s3.keys(store._key(job_id)) == []
    store.create_job_dir(job_id)
    assert store.read_report(job_id) is None
    store.write_report(job_id, b'{"pairs": []}')
    assert store.read_report(job_id) == b'{"pairs": []}'
    store.delete(job_id)
    assert s3.keys(store._key(job_id)) == []
    with pytest.raises(JobNotFoundError):
        store.write_artifact(job_id, "late.png", b"x")  # a deleted job's objects stay gone
    assert s3.keys(store._key(job_id)) == []
    assert store.read_report(job_id) is None


def test_pixel_artifact_is_served_as_png_streamed_and_presigned(
    s3: S3Server, store: S3PayloadStore
) -> None:
    job_id = new_job_id()
    store.create_job_dir(job_id)
    pixels = np.random.default_rng(2).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    store.write_artifact_pixels(job_id, "error-map.png", pixels)
    assert store.presigned_url(job_id, "error-map.png") is None  # presigning is off
    file = store.open_artifact(job_id, "error-map.png")
    assert file is not None
    with file:
        served = file.read()
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(served))), pixels)
    # Encoded once: the PNG replaced the pixels in the bucket.
    assert _keys(s3, store, job_id) == [".job", "artifacts/error-map.png"]
    assert store.open_artifact(job_id, "missing.png") is None
    assert store.open_artifact(job_id, "../escape.png") is None

    presigning = S3PayloadStore(store.bucket, store.prefix.rstrip("/"), store.root, presign=True)
    url = presigning.presigned_url(job_id, "error-map.png")
    assert url is not None
    assert url.startswith(s3.endpoint)
    fetched = httpx.get(url, timeout=10.0)  # no credentials: the signature is the permission
    assert fetched.status_code == 200
    assert fetched.content == served
    assert presigning.presigned_url(job_id, "missing.png") is None


def test_sweep_removes_payloads_without_a_record_only(s3: S3Server, store: S3PayloadStore) -> None:
    kept, orphan = new_job_id(), new_job_id()
    for job_id in (kept, orphan):
        store.write_input(job_id, "a.png", io.BytesIO(b"abc"))
        store.write_artifact(job_id, "map.png", b"png")
    records = _Records({kept})
    assert store.sweep_expired(records, min_age_seconds=3600.0) == []  # both too young
    assert set(store.job_ids()) == {kept, orphan}
    assert store.sweep_expired(records, min_age_seconds=0.0) == [orphan]
    assert store.job_ids() == [kept]
    assert s3.keys(store._key(orphan)) == []
    assert _keys(s3, store, kept) == [".job", "artifacts/map.png", "input/a.png"]
    assert store.stored_bytes(kept) == len(b"abc") + len(b"png")


def test_unreachable_store_raises_and_loses_nothing(s3: S3Server, store: S3PayloadStore) -> None:
    job_id = new_job_id()
    store.write_input(job_id, "a.png", io.BytesIO(b"abc"))
    with outage(s3):
        with pytest.raises(StoreUnavailableError):
            store.write_input(job_id, "b.png", io.BytesIO(b"def"))
        with pytest.raises(StoreUnavailableError):
            store.read_report(job_id)
        with pytest.raises(StoreUnavailableError):
            store.stored_bytes(job_id)
    assert _keys(s3, store, job_id) == [".job", "input/a.png"]
    assert (store.input_dir(job_id) / "a.png").read_bytes() == b"abc"


def test_storage_url_forms(tmp_path: Path) -> None:
    from jobstore.objectstore import StorageUrlError
    from jobstore.payloads import PayloadStore

    default = open_payload_store(None, tmp_path)
    assert type(default) is PayloadStore
    assert default.root == tmp_path
    directory = open_payload_store(f"file://{tmp_path}/data", tmp_path / "unused")
    assert type(directory) is PayloadStore
    assert directory.root == tmp_path / "data"
    bucket = open_payload_store("s3://bucket/a/b/", tmp_path)
    assert isinstance(bucket, S3PayloadStore)
    assert (bucket.bucket, bucket.prefix) == ("bucket", "a/b/")
    for bad in ("s3:///prefix", "file://host/data", "gs://bucket/x", "s3://b/p?x=1"):
        with pytest.raises(StorageUrlError):
            open_payload_store(bad, tmp_path)
