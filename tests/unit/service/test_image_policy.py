"""Batches the API accepts are audited by the worker (issue #11, item 7): the valid pairs the
API used to refuse run, orientation differences are pair warnings, and the worker honours the
deployment's pixel limit. The API is the real app over ASGI; the worker is ``audit_job``, the
Celery task's body, in this process, on the same Redis and payload store.
"""

from __future__ import annotations

import json

import pytest

from service.settings import ServiceSettings
from tests.support.crafted_images import encode, grey_palette, noise, pa_tiff, png_with_late_exif
from workers.settings import WorkerSettings
from workers.stores import open_stores
from workers.tasks.audit import audit_job

SIZE = (24, 24)
OPTIONS = {"bootstrap": {"resamples": 0}, "maps": False}


def _submit(client, gt: bytes, restored: bytes, **options: object) -> str:
    files = [
        ("ground_truth", ("gt.png", gt, "image/png")),
        ("restored", ("r.png", restored, "image/png")),
    ]
    data = {"options": json.dumps({**OPTIONS, **options})}
    response = client.post("/v1/jobs", files=files, data=data)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _audit(client, settings: ServiceSettings, job_id: str, **worker: object) -> dict:
    worker_settings = WorkerSettings(
        redis_url=settings.redis_url, data_dir=settings.data_dir, device="cpu", **worker
    )
    audit_job(job_id, open_stores(worker_settings))
    return client.get(f"/v1/jobs/{job_id}").json()


@pytest.mark.parametrize(
    ("ground_truth", "restored"),
    [
        (encode(noise(SIZE, "L"), "PNG"), encode(grey_palette(SIZE, seed=1), "PNG")),
        (encode(grey_palette(SIZE), "PNG"), pa_tiff(SIZE, grey=True, seed=1)),
        (encode(noise(SIZE), "PNG"), pa_tiff(SIZE, grey=False, seed=1)),
    ],
    ids=["grey_with_grey_palette", "grey_palette_with_grey_pa_tiff", "rgb_with_colour_pa_tiff"],
)
def test_pairs_the_api_accepts_are_audited(client, settings, ground_truth, restored):
    job_id = _submit(client, ground_truth, restored)
    job = _audit(client, settings, job_id)
    assert job["state"] == "succeeded", job
    report = client.get(f"/v1/jobs/{job_id}/report").json()
    assert report["pairs"][0]["distortion"]["psnr"] is not None


def test_orientation_that_differs_is_a_pair_warning(client, settings):
    gt = png_with_late_exif(noise(SIZE), 3)  # shown turned 180 degrees
    job_id = _submit(client, gt, encode(noise(SIZE, seed=1), "PNG"))
    job = _audit(client, settings, job_id)
    assert job["state"] == "succeeded", job
    warnings = client.get(f"/v1/jobs/{job_id}/report").json()["pairs"][0]["warnings"]
    assert any(
        "restored[pair-0]: EXIF orientation 1 (none) but ground_truth[pair-0] has 3" in w
        for w in warnings
    ), warnings


def test_the_worker_honours_the_deployments_pixel_limit(client, settings):
    job_id = _submit(client, encode(noise(SIZE), "PNG"), encode(noise(SIZE, seed=1), "PNG"))
    job = _audit(client, settings, job_id, max_pixels_per_image=24 * 24 - 1)
    assert job["state"] == "failed"
    assert job["error"]["status"] == 422
    assert job["error"]["errors"][0]["part"] == "ground_truth[pair-0]"
    assert "image too large: 24x24 is over 575 pixels" in job["error"]["errors"][0]["message"]


def test_the_worker_reads_the_apis_image_settings(monkeypatch):
    monkeypatch.setenv("RA_MAX_PIXELS_PER_IMAGE", "1234")
    monkeypatch.setenv("RA_MAX_COMPRESSION_RATIO", "99")
    worker = WorkerSettings()
    service = ServiceSettings(local_mode=True)
    assert worker.max_pixels_per_image == service.max_pixels_per_image == 1234
    assert worker.max_compression_ratio == service.max_compression_ratio == 99
