"""GET /v1/jobs/{id}/pairs.csv over real HTTP: uvicorn, Redis and a Celery worker."""

from __future__ import annotations

import csv
import io

import httpx

from reporting.pairs_csv import PAIRS_CSV_COLUMNS
from tests.integration.stack import assert_problem, sample_pairs, submit, wait_for

FAST = {"bootstrap": {"resamples": 20}, "knn_samples": 200, "maps": False}


def test_pairs_csv_has_a_row_per_pair_of_the_report(client: httpx.Client) -> None:
    job = submit(client, sample_pairs(3, 48, seed=23), FAST).json()
    assert wait_for(client, job["id"])["state"] == "succeeded"
    report = client.get(f"/v1/jobs/{job['id']}/report").json()

    answer = client.get(f"/v1/jobs/{job['id']}/pairs.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert f"{job['id']}-pairs.csv" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text, newline="")))
    assert tuple(rows[0]) == PAIRS_CSV_COLUMNS
    assert [row["id"] for row in rows] == [pair["id"] for pair in report["pairs"]]
    for pair, row in zip(report["pairs"], rows, strict=True):
        assert float(row["mse"]) == pair["distortion"]["mse"]
        assert float(row["psnr"]) == pair["distortion"]["psnr"]
        assert row["risk_level"] == pair["risk"]["level"]

    cached = client.get(
        f"/v1/jobs/{job['id']}/pairs.csv", headers={"If-None-Match": answer.headers["etag"]}
    )
    assert cached.status_code == 304


def test_pairs_csv_is_404_for_unknown_jobs(client: httpx.Client) -> None:
    assert_problem(client.get("/v1/jobs/0123456789abcdef0123456789abcdef/pairs.csv"), 404)
