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


def new_job(store: PayloadStore) -> str:
    """A job id whose directory exists, as the API's first input creates it."""
    job_id = new_job_id()
    store.write_input(job_id, "gt-0000.png", io.BytesIO(b"x"))
    return job_id


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
    job_id = new_job(store)
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
    job_id = new_job(store)
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
    live, gone, young = new_job(store), new_job(store), new_job(store)
    for job_id in (live, gone, young):
        store.write_report(job_id, b"{}")
    for job_id in (live, gone):
        os.utime(store.job_dir(job_id), (0, 0))
    assert store.sweep_expired(_Records({live})) == [gone]
    assert store.job_ids() == sorted([live, young])
    store.delete(live)
    assert store.job_ids() == [young]


def test_writes_never_create_a_job_directory(store):
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)
    job_id = new_job_id()
    writes = [
        lambda: store.write_report(job_id, b"{}"),
        lambda: store.write_artifact(job_id, "plot.png", b"png"),
        lambda: store.write_artifact_pixels(job_id, "map.png", pixels),
        lambda: store.write_manifest(
            JobManifest(
                job_id=job_id,
                tenant="acme",
                created_at=datetime.now(UTC),
                options=AuditOptions(),
                pairs=[ManifestPair(id="a", ground_truth="g.png", restored="r.png")],
            )
        ),
    ]
    for write in writes:
        with pytest.raises(JobNotFoundError, match="nothing written"):
            write()
    assert not store.job_dir(job_id).exists()


def test_deleted_job_stays_deleted(store):
    job_id = new_job(store)
    pixels = np.full((3, 4, 3), 7, dtype=np.uint8)
    store.write_artifact_pixels(job_id, "map.png", pixels)
    store.write_artifact(job_id, "plot.png", b"png")
    store.delete(job_id)
    assert not store.job_dir(job_id).exists()
    # The worker's late writes and the API's first download are refused, and bring nothing back.
    with pytest.raises(JobNotFoundError):
        store.write_artifact_pixels(job_id, "map.png", pixels)
    with pytest.raises(JobNotFoundError):
        store.write_report(job_id, b"{}")
    assert store.artifact_path(job_id, "map.png") is None
    assert store.open_artifact(job_id, "plot.png") is None
    assert not store.job_dir(job_id).exists()
    assert list((store.jobs_root / ".trash").iterdir()) == []
    assert store.job_ids() == []
    store.delete(job_id)  # again: nothing there, no error


def test_an_opened_artifact_reads_whole_after_the_delete(store):
    job_id = new_job(store)
    store.write_artifact_pixels(job_id, "map.png", np.full((40, 30, 3), 9, dtype=np.uint8))
    opened = store.open_artifact(job_id, "map.png")  # encoded on this first read
    assert opened is not None
    with opened:
        store.delete(job_id)
        data = opened.read()
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (30, 40)


def test_encoding_racing_a_delete_does_not_bring_the_directory_back(store, monkeypatch):
    # The delete lands between reading the pixels and writing the PNG (the API's first
    # download racing DELETE): the write is refused and the download finds nothing.
    job_id = new_job(store)
    store.write_artifact_pixels(job_id, "map.png", np.zeros((4, 4, 3), dtype=np.uint8))
    save = Image.Image.save

    def save_then_delete(image, *args, **kwargs):
        save(image, *args, **kwargs)
        store.delete(job_id)

    monkeypatch.setattr(Image.Image, "save", save_then_delete)
    assert store.artifact_path(job_id, "map.png") is None
    assert not store.job_dir(job_id).exists()


def test_sweep_removes_what_an_interrupted_delete_left(store):
    job_id = new_job(store)
    leftover = store.jobs_root / ".trash" / f"{job_id}.0"
    leftover.mkdir(parents=True)
    (leftover / "report.json").write_bytes(b"{}")
    store.sweep_expired(_Records({job_id}))
    assert not leftover.exists()
    assert store.job_ids() == [job_id]
