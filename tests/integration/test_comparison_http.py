"""GET /v1/jobs/{id}/comparison?baseline={id} over real HTTP: uvicorn, Redis, a Celery worker."""

from __future__ import annotations

import httpx

from api_schemas.comparison import Comparison
from tests.integration.stack import assert_problem, png, submit, wait_for
from tests.support.sample_pairs import crops, degrade

FAST = {"bootstrap": {"resamples": 20}, "knn_samples": 200, "maps": False}
NEVER_EXISTED = "0123456789abcdef0123456789abcdef"


def _runs() -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    """The same 6 images restored by a baseline (noise) and a worse one (noise added twice)."""
    images = crops(6, 48, seed=31)
    noisy = [degrade(gt, "noise", seed=i) for i, gt in enumerate(images)]
    baseline = [(png(gt), png(n)) for gt, n in zip(images, noisy, strict=True)]
    worse = [
        (png(gt), png(degrade(n, "noise", seed=100 + i)))
        for i, (gt, n) in enumerate(zip(images, noisy, strict=True))
    ]
    return baseline, worse


def test_comparison_of_two_jobs_finds_the_regression(client: httpx.Client) -> None:
    baseline_pairs, worse_pairs = _runs()
    baseline = submit(client, baseline_pairs, FAST).json()["id"]
    candidate = submit(client, worse_pairs, FAST).json()["id"]
    # The baseline still queued or running is a 409 that says to poll (or done already).
    early = client.get(f"/v1/jobs/{candidate}/comparison", params={"baseline": baseline})
    assert early.status_code in (200, 409), early.text
    for job in (baseline, candidate):
        assert wait_for(client, job)["state"] == "succeeded"

    answer = client.get(f"/v1/jobs/{candidate}/comparison", params={"baseline": baseline})
    assert answer.status_code == 200, answer.text
    comparison = Comparison.model_validate(answer.json())
    assert (comparison.baseline, comparison.candidate) == (baseline, candidate)
    (group,) = comparison.groups
    assert group.pairs == 6
    psnr = next(m for m in group.metrics if m.metric == "psnr")
    assert psnr.regressed
    assert comparison.regression
    assert comparison.rule_statement.startswith("regression when the 95% paired-bootstrap")

    # The rule is configurable by query parameters, and stated back.
    tolerant = {
        "baseline": baseline, "psnr_margin": 50, "ssim_margin": 1, "uncertainty_margin": 1,
        "perception_margin": 1000, "invented_detail_margin": 1000,
        "fail_on_risk_increase": "false", "level": 0.9, "resamples": 500,
    }  # fmt: skip
    lenient = client.get(f"/v1/jobs/{candidate}/comparison", params=tolerant).json()
    assert lenient["regression"] is False
    assert lenient["rule"]["psnr_margin"] == 50
    assert "90% paired-bootstrap interval (500 resamples" in lenient["rule_statement"]

    # A job against itself: nothing changes.
    same = client.get(f"/v1/jobs/{baseline}/comparison", params={"baseline": baseline}).json()
    assert same["regression"] is False


def test_comparison_problems(client: httpx.Client) -> None:
    baseline_pairs, _ = _runs()
    job = submit(client, baseline_pairs[:2], FAST).json()["id"]
    other = submit(client, baseline_pairs[:2], FAST | {"pairs": [{"id": "a"}, {"id": "b"}]})
    other_id = other.json()["id"]
    cropped = submit(client, baseline_pairs[:2], FAST | {"crop_border": 2}).json()["id"]
    for j in (job, other_id, cropped):
        assert wait_for(client, j)["state"] == "succeeded"

    missing = client.get(f"/v1/jobs/{job}/comparison", params={"baseline": NEVER_EXISTED})
    body = assert_problem(missing, 404)
    assert body["errors"][0]["part"] == "baseline"
    assert_problem(client.get(f"/v1/jobs/{NEVER_EXISTED}/comparison?baseline={job}"), 404)
    assert_problem(client.get(f"/v1/jobs/{job}/comparison"), 422)  # baseline is required
    bad_level = client.get(f"/v1/jobs/{job}/comparison", params={"baseline": job, "level": 2})
    assert_problem(bad_level, 422)
    # No pair id in common: a 422 that says so, never a 500.
    strangers = client.get(f"/v1/jobs/{other_id}/comparison", params={"baseline": job})
    assert "no pair id" in assert_problem(strangers, 422)["detail"]
    # The same pairs measured under another border crop: a 422, not a regression of the model.
    recropped = client.get(f"/v1/jobs/{cropped}/comparison", params={"baseline": job})
    assert "crop_border 0 vs 2" in assert_problem(recropped, 422)["detail"]


def test_comparison_page_shows_the_changed_pairs_side_by_side(client: httpx.Client) -> None:
    baseline_pairs, worse_pairs = _runs()
    with_maps = {**FAST, "maps": True}
    baseline = submit(client, baseline_pairs, with_maps).json()["id"]
    candidate = submit(client, worse_pairs, with_maps).json()["id"]
    for job in (baseline, candidate):
        assert wait_for(client, job)["state"] == "succeeded"
    page = client.get(f"/v1/jobs/{candidate}/comparison.html", params={"baseline": baseline})
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    text = page.text
    assert "Regression" in text
    assert text.count('<tr class="pair">') == 6
    # Each changed pair, both sides: the stored restored image and its invented-detail map.
    assert text.count('<tr class="pictures">') == 6
    assert text.count("data:image/jpeg;base64,") == 4 * 6
    assert "restored image not stored" not in text
    # The page's problems are the JSON route's.
    missing = assert_problem(
        client.get(f"/v1/jobs/{candidate}/comparison.html", params={"baseline": NEVER_EXISTED}),
        404,
    )
    assert missing["errors"][0]["part"] == "baseline"
