"""The payload store on a temporary directory."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from api_schemas.jobs import JobManifest, ManifestPair
from api_schemas.options import AuditOptions
from jobstore import (
    InvalidArtifactNameError,
    InvalidJobIdError,
    JobNotFoundError,
    PayloadStore,
    new_job_id,
)


@pytest.fixture
def store(tmp_path) -> PayloadStore:
    return PayloadStore(tmp_path)


def test_manifest_round_trip(store):
    job_id = new_job_id()
    store.write_input(job_id, "gt-0000.png", io.BytesIO(b"x"))
    manifest = JobManifest(
        job_id=job_id,
        tenant="acme",
        created_at=datetime.now(UTC),
        options=AuditOptions(),
        pairs=[ManifestPair(id="a", ground_truth="gt-0000.png", restored="re-0000.png")],
    )
    store.write_manifest(manifest)
    assert store.read_manifest(job_id) == manifest
    assert (store.input_dir(job_id) / "gt-0000.png").read_bytes() == b"x"
    with pytest.raises(JobNotFoundError):
        store.read_manifest(new_job_id())


def test_manifest_rejects_escaping_paths():
    with pytest.raises(ValueError, match="relative"):
        ManifestPair(id="a", ground_truth="../x.png", restored="r.png")


def test_report_and_artifacts_are_written_atomically(store):
    job_id = new_job_id()
    assert store.read_report(job_id) is None
    store.write_report(job_id, b"{}")
    store.write_report(job_id, b'{"a": 1}')
    assert store.read_report(job_id) == b'{"a": 1}'
    path = store.write_artifact(job_id, "pair-1_invented.png", b"png")
    assert store.artifact_path(job_id, "pair-1_invented.png") == path
    assert store.artifact_path(job_id, "missing.png") is None
    leftovers = [p for p in store.job_dir(job_id).rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_pixels_are_encoded_to_png_on_first_read(store):
    job_id = new_job_id()
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    store.write_artifact_pixels(job_id, "pair-00000-error.png", pixels)
    assert not store.artifacts_dir(job_id).exists()  # nothing encoded yet
    path = store.artifact_path(job_id, "pair-00000-error.png")
    assert path is not None
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(path) as image:
        assert image.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(image), pixels)  # lossless
    # Encoded once: the pixels are gone and later reads serve the same file.
    assert list(store.job_dir(job_id).rglob("*.npy")) == []
    assert store.artifact_path(job_id, "pair-00000-error.png") == path
    assert store.artifact_path(job_id, "pair-00001-error.png") is None


def test_pixels_need_a_png_name_and_rgb_bytes(store):
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)
    with pytest.raises(InvalidArtifactNameError, match=r"\.png"):
        store.write_artifact_pixels(new_job_id(), "map.npy", pixels)
    with pytest.raises(InvalidArtifactNameError):
        store.write_artifact_pixels(new_job_id(), "../map.png", pixels)
    with pytest.raises(ValueError, match="uint8"):
        store.write_artifact_pixels(new_job_id(), "map.png", pixels.astype(np.float32))
    with pytest.raises(ValueError, match="uint8"):
        store.write_artifact_pixels(new_job_id(), "map.png", pixels[..., 0])


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "", "..", "x y.png"])
def test_unsafe_names_are_refused(store, name):
    with pytest.raises(InvalidArtifactNameError):
        store.write_artifact(new_job_id(), name, b"")
    assert store.artifact_path(new_job_id(), name) is None


def test_malformed_job_id_is_refused(store):
    with pytest.raises(InvalidJobIdError):
        store.job_dir("../../etc")
    assert store.read_report("../../etc") is None


class _Records:
    def __init__(self, live: set[str]) -> None:
        self.live = live

    def exists(self, job_id: str) -> bool:
        return job_id in self.live


def test_sweep_deletes_old_payloads_without_records(store):
    live, gone, young = new_job_id(), new_job_id(), new_job_id()
    for job_id in (live, gone, young):
        store.write_report(job_id, b"{}")
    for job_id in (live, gone):
        os.utime(store.job_dir(job_id), (0, 0))
    assert store.sweep_expired(_Records({live})) == [gone]
    assert store.job_ids() == sorted([live, young])
    store.delete(live)
    assert store.job_ids() == [young]
