"""Inputs by reference end to end: a job lists ``sources`` (file:// under the stack's dataset
root, http:// from a loopback image server) instead of uploading parts; the worker fetches them
and the report is the one the upload path gives for the same images."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.stack import assert_close, assert_problem, sample_pairs, submit, wait_for
from tests.support.http_servers import ImageServer, Route

FAST = {"bootstrap": {"resamples": 20}, "knn_samples": 200, "maps": False}
IDS = [{"id": "cat", "group": "blur"}, {"id": "dog", "group": "blur"}, {"id": "owl"}]


def submit_sources(client: httpx.Client, options: dict[str, Any]) -> httpx.Response:
    """POST a job whose only part is the options (multipart, as the API requires)."""
    return client.post("/v1/jobs", files={"options": (None, json.dumps(options))})


def report_of(client: httpx.Client, job_id: str) -> dict[str, Any]:
    done = wait_for(client, job_id)
    assert done["state"] == "succeeded", done
    report: dict[str, Any] = client.get(done["links"]["report"]).json()
    return report


@pytest.fixture(scope="module")
def pairs() -> list[tuple[bytes, bytes]]:
    return sample_pairs(3, 48, seed=21)


@pytest.fixture(scope="module")
def upload_report(pairs: list[tuple[bytes, bytes]], api: Any, worker: Any) -> dict[str, Any]:
    """The report of the same pairs uploaded as parts."""
    with httpx.Client(base_url=api.base_url, timeout=30.0) as http:
        response = submit(http, pairs, {**FAST, "pairs": IDS})
        assert response.status_code == 202, response.text
        return report_of(http, response.json()["id"])


@pytest.fixture
def dataset(stack_dir: Path, pairs: list[tuple[bytes, bytes]]) -> Path:
    """The pairs as files in a directory under the stack's dataset root."""
    directory = stack_dir / "datasets" / uuid.uuid4().hex
    directory.mkdir()
    for i, (gt, restored) in enumerate(pairs):
        (directory / f"gt{i}.png").write_bytes(gt)
        (directory / f"restored{i}.png").write_bytes(restored)
    return directory


def test_a_job_from_file_sources_reports_as_the_upload(
    client: httpx.Client, dataset: Path, upload_report: dict[str, Any]
) -> None:
    sources = [
        {
            **IDS[i],
            "ground_truth": f"file://{dataset}/gt{i}.png",
            "restored": f"file://{dataset}/restored{i}.png",
        }
        for i in range(3)
    ]
    response = submit_sources(client, {**FAST, "sources": sources})
    assert response.status_code == 202, response.text
    assert_close(report_of(client, response.json()["id"]), upload_report)


def test_a_job_from_http_sources_reports_as_the_upload(
    client: httpx.Client, pairs: list[tuple[bytes, bytes]], upload_report: dict[str, Any]
) -> None:
    with ImageServer() as server:
        for i, (gt, restored) in enumerate(pairs):
            server.routes[f"/gt{i}.png"] = Route(body=gt)
            server.routes[f"/restored{i}.png"] = Route(body=restored)
        sources = [
            {
                **IDS[i],
                "ground_truth": server.url(f"/gt{i}.png"),
                "restored": server.url(f"/restored{i}.png"),
            }
            for i in range(3)
        ]
        response = submit_sources(client, {**FAST, "sources": sources})
        assert response.status_code == 202, response.text
        report = report_of(client, response.json()["id"])
    assert_close(report, upload_report)


def test_a_source_that_cannot_be_read_fails_the_job_naming_pair_and_role(
    client: httpx.Client, dataset: Path
) -> None:
    with ImageServer() as server:
        server.routes["/gt.png"] = Route(body=(dataset / "gt0.png").read_bytes())
        server.routes["/elsewhere.png"] = Route(status=302, location="http://localhost:1/x.png")
        sources = [
            {
                "id": "fine",
                "ground_truth": f"file://{dataset}/gt0.png",
                "restored": f"file://{dataset}/restored0.png",
            },
            {
                "id": "moved",
                "ground_truth": server.url("/gt.png"),
                "restored": server.url("/elsewhere.png"),
            },
        ]
        response = submit_sources(client, {**FAST, "sources": sources})
        assert response.status_code == 202, response.text
        done = wait_for(client, response.json()["id"])
    assert done["state"] == "failed"
    assert done["error"]["status"] == 422
    [error] = done["error"]["errors"]
    assert error["part"] == "options.sources[1].restored"
    assert "pair 'moved', restored" in done["error"]["detail"]
    assert "redirected to another host" in error["message"]


def test_a_symlink_out_of_the_root_fails_the_job(
    client: httpx.Client, dataset: Path, stack_dir: Path
) -> None:
    outside = stack_dir / "outside.png"
    outside.write_bytes((dataset / "gt0.png").read_bytes())
    (dataset / "escape.png").symlink_to(outside)
    sources = [
        {
            "ground_truth": f"file://{dataset}/escape.png",
            "restored": f"file://{dataset}/restored0.png",
        }
    ]
    done = wait_for(client, submit_sources(client, {**FAST, "sources": sources}).json()["id"])
    assert done["state"] == "failed"
    [error] = done["error"]["errors"]
    assert error["part"] == "options.sources[0].ground_truth"
    assert "outside its dataset root" in error["message"]


def test_what_can_be_checked_at_submission_is_a_422(
    client: httpx.Client, dataset: Path, pairs: list[tuple[bytes, bytes]]
) -> None:
    good = f"file://{dataset}/gt0.png"
    cases = [
        ("https://images.example.com/a.png", "ground_truth", "not in RA_SOURCE_ALLOWED_HOSTS"),
        (f"file://{dataset}/../../etc/passwd", "ground_truth", "not under a dataset root"),
        ("file:///etc/passwd", "ground_truth", "not under a dataset root"),
        ("ftp://127.0.0.1/a.png", "ground_truth", "expected an https:// or file:// URI"),
    ]
    for uri, role, reason in cases:
        sources = [
            {"ground_truth": good, "restored": good},
            {"ground_truth": uri, "restored": good},
        ]
        problem = assert_problem(submit_sources(client, {**FAST, "sources": sources}), 422)
        [error] = problem["errors"]
        assert error["part"] == f"options.sources[1].{role}"
        assert reason in error["message"]
    # Parts and sources together are refused too, as is a job with neither.
    both = submit(
        client, pairs[:1], {**FAST, "sources": [{"ground_truth": good, "restored": good}]}
    )
    assert {e["part"] for e in assert_problem(both, 422)["errors"]} == {"ground_truth", "restored"}
    neither = assert_problem(submit_sources(client, FAST), 422)
    assert "options.sources" in neither["errors"][0]["message"]
