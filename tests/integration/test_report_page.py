"""The HTML report over real HTTP: uvicorn, Redis and a Celery worker, all real processes."""

from __future__ import annotations

import base64
import io
import re
import shutil

import httpx
from PIL import Image

from jobstore import PayloadStore
from tests.integration.stack import assert_problem, sample_pairs, submit, wait_for

FAST = {"bootstrap": {"resamples": 20}, "knn_samples": 200}
HTML = "text/html; charset=utf-8"


def jpeg_thumbnails(page: str) -> list[Image.Image]:
    found = re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', page)
    return [Image.open(io.BytesIO(base64.b64decode(data))) for data in found]


def test_page_of_a_real_job_embeds_plots_thumbnails_and_every_pair(
    client: httpx.Client, payloads: PayloadStore
) -> None:
    job = submit(client, sample_pairs(3, 64, seed=19), FAST).json()
    assert wait_for(client, job["id"])["state"] == "succeeded"
    report = client.get(f"/v1/jobs/{job['id']}/report").json()

    page = client.get(f"/v1/jobs/{job['id']}/report.html")
    assert page.status_code == 200
    assert page.headers["content-type"] == HTML
    assert "immutable" in page.headers["cache-control"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    text = page.text
    assert job["id"] in text
    for pair in report["pairs"]:
        assert f'<td class="name">{pair["id"]}</td>' in text
    for group in report["groups"]:
        assert f"<h3>{group['name']}</h3>" in text
    assert text.count('src="data:image/png;base64,') == 2  # UP and DP planes
    thumbnails = jpeg_thumbnails(text)
    assert len(thumbnails) == 2 * 3  # restored image and invented-detail map of each pair
    assert all(0 < max(t.size) <= 160 for t in thumbnails)
    assert "no longer stored" not in text

    cached = client.get(
        f"/v1/jobs/{job['id']}/report.html", headers={"If-None-Match": page.headers["etag"]}
    )
    assert cached.status_code == 304

    # Inputs gone (expired) while the report stays: notes instead of thumbnails, never a 500.
    shutil.rmtree(payloads.input_dir(job["id"]))
    without = client.get(f"/v1/jobs/{job['id']}/report.html")
    assert without.status_code == 200
    assert without.headers["etag"] != page.headers["etag"]
    assert without.text.count("restored image no longer stored") == 3
    assert len(jpeg_thumbnails(without.text)) == 3  # the maps are still there


def test_page_of_a_job_without_maps_says_they_were_not_rendered(client: httpx.Client) -> None:
    job = submit(client, sample_pairs(2, 64, seed=23), {**FAST, "maps": False}).json()
    assert wait_for(client, job["id"])["state"] == "succeeded"
    page = client.get(f"/v1/jobs/{job['id']}/report.html")
    assert page.status_code == 200
    assert "Plots and heat maps were not rendered for this audit" in page.text
    assert "data:image/png" not in page.text
    assert len(jpeg_thumbnails(page.text)) == 2


def test_page_is_404_for_unknown_jobs_and_409_until_the_job_succeeds(
    client: httpx.Client,
) -> None:
    assert_problem(client.get("/v1/jobs/0123456789abcdef0123456789abcdef/report.html"), 404)
    job = submit(client, sample_pairs(12, 96, seed=29)).json()  # seconds of work
    unfinished = assert_problem(client.get(f"/v1/jobs/{job['id']}/report.html"), 409)
    assert unfinished["type"].endswith("/job-not-finished")
    assert client.post(f"/v1/jobs/{job['id']}/cancel").status_code == 202
    assert wait_for(client, job["id"], timeout=60)["state"] == "cancelled"
    cancelled = assert_problem(client.get(f"/v1/jobs/{job['id']}/report.html"), 409)
    assert cancelled["type"].endswith("/job-has-no-report")
