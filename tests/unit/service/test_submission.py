"""Batch validation before 202, idempotency keys, and a broker that is down."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from api_schemas.jobs import JobCreateOptions
from jobstore import IdempotencyKeys
from service.main import create_app
from tests.fixtures.redis_server import free_port
from tests.unit.service.conftest import auth, batch, png

PROBLEM = "application/problem+json"


def errors_of(response) -> dict[str, str]:
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == response.status_code
    return {e["part"]: e["message"] for e in body.get("errors", [])}


def _job_dirs(data_dir):
    """Job directories and anything a delete left in the store's trash (docs: payloads.py)."""
    jobs = data_dir / "jobs"
    found = [p for p in jobs.iterdir() if p.name != ".trash"]
    trash = jobs / ".trash"
    return found + (list(trash.iterdir()) if trash.is_dir() else [])


def files_with(role: str, index: int, content: bytes, n: int = 2):
    kwargs = batch(n)
    files = kwargs["files"]
    positions = [i for i, (name, _) in enumerate(files) if name == role]
    files[positions[index]] = (role, ("x.png", content, "image/png"))
    return kwargs


def test_undecodable_part_is_named(client):
    response = client.post("/v1/jobs", **files_with("restored", 1, b"not an image"))
    assert response.status_code == 422
    assert errors_of(response) == {
        "restored[1]": "'x.png': not a decodable image (PNG, JPEG, TIFF or WebP)"
    }


def test_truncated_png_is_refused(client):
    data = png((64, 64))
    response = client.post("/v1/jobs", **files_with("ground_truth", 0, data[: len(data) - 20]))
    assert response.status_code == 422
    assert "truncated or corrupt" in errors_of(response)["ground_truth[0]"]


def test_pair_sizes_must_match(client):
    response = client.post("/v1/jobs", **files_with("restored", 0, png((20, 12))))
    assert response.status_code == 422
    # The part is the position; the message names the uploaded files of both sides.
    assert errors_of(response)["restored[0]"] == (
        "'x.png': size 20x12 differs from ground_truth[0] (16x12); ground_truth[0] is 'gt0.png'"
    )


def test_channel_counts_must_match(client):
    response = client.post("/v1/jobs", **files_with("restored", 0, png(mode="L")))
    assert "channel" in errors_of(response)["restored[0]"]


def test_every_bad_part_is_reported(client):
    kwargs = files_with("restored", 0, b"junk")
    kwargs["files"][0] = ("ground_truth", ("x.gif", b"GIF89a", "image/gif"))
    assert set(errors_of(client.post("/v1/jobs", **kwargs))) == {"ground_truth[0]", "restored[0]"}


def test_unaccepted_modes_and_frames(client):
    cmyk = io.BytesIO()
    Image.new("CMYK", (16, 12)).save(cmyk, "JPEG")
    response = client.post("/v1/jobs", **files_with("restored", 0, cmyk.getvalue()))
    assert "mode 'CMYK'" in errors_of(response)["restored[0]"]
    frames = io.BytesIO()
    Image.new("RGB", (16, 12)).save(
        frames, "PNG", save_all=True, append_images=[Image.new("RGB", (16, 12), "red")]
    )
    response = client.post("/v1/jobs", **files_with("restored", 0, frames.getvalue()))
    assert "single frame" in errors_of(response)["restored[0]"]


def test_decompression_bomb_is_refused_from_the_header(client):
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")  # ~12 KB file, 100 megapixels
    assert len(bomb.getvalue()) < 50_000
    response = client.post("/v1/jobs", **files_with("ground_truth", 0, bomb.getvalue()))
    assert response.status_code == 422
    assert "too large" in errors_of(response)["ground_truth[0]"]


def test_counts_must_pair_up(client):
    kwargs = batch(2)
    kwargs["files"] = kwargs["files"][:-1]
    assert "expected 2 parts" in errors_of(client.post("/v1/jobs", **kwargs))["restored"]
    kwargs = batch(2)
    kwargs["files"].append(("observation", ("o.png", png(), "image/png")))
    assert "observation" in errors_of(client.post("/v1/jobs", **kwargs))


def test_observations_are_taken_only_with_their_degradation(client, settings):
    kwargs = batch(1)
    kwargs["files"].append(("observation", ("o.png", png(), "image/png")))
    refused = client.post("/v1/jobs", **kwargs)
    assert refused.status_code == 422
    assert "only used with a known degradation" in errors_of(refused)["observation"]
    assert client.get("/v1/jobs").json()["items"] == []
    kwargs["data"] = {"options": json.dumps({"degradation": {"type": "blur", "sigma": 1.0}})}
    accepted = client.post("/v1/jobs", **kwargs)
    assert accepted.status_code == 202, accepted.text
    from jobstore import PayloadStore

    manifest = PayloadStore(settings.data_dir).read_manifest(accepted.json()["id"])
    assert manifest.pairs[0].observation is not None


def test_one_options_part_only(client):
    kwargs = batch(1)
    kwargs["files"].append(("options", ("options.json", b'{"color": "rgb"}', "application/json")))
    kwargs["data"] = {"options": json.dumps({"color": "y"})}
    response = client.post("/v1/jobs", **kwargs)
    assert response.status_code == 422
    assert errors_of(response)["options"].startswith("expected one options part, got 2")
    assert client.get("/v1/jobs").json()["items"] == []


def test_too_many_pairs(client):
    response = client.post("/v1/jobs", **batch(5))
    assert "at most 4 pairs" in errors_of(response)["ground_truth"]


def test_missing_parts_are_validation_problems(client):
    response = client.post("/v1/jobs", files=[("restored", ("r.png", png(), "image/png"))])
    assert response.status_code == 422
    assert "ground_truth" in errors_of(response)


@pytest.mark.parametrize(
    ("options", "part"),
    [
        ("{not json", "options"),
        (json.dumps({"patch_size": 1}), "options.patch_size"),
        (json.dumps({"colour": "y"}), "options.colour"),
        (json.dumps({"pairs": [{"id": "a"}]}), "options.pairs"),
        (json.dumps({"pairs": [{"id": "../x"}, {}]}), "options.pairs[0].id"),
        (json.dumps({"pairs": [{"id": "pair-1"}, {}]}), "options.pairs[1].id"),
    ],
)
def test_options_errors_name_the_field(client, options, part):
    kwargs = batch(2)
    kwargs["data"] = {"options": options}
    response = client.post("/v1/jobs", **kwargs)
    assert response.status_code == 422
    assert part in errors_of(response), errors_of(response)


def test_json_body_is_415(client):
    response = client.post("/v1/jobs", json={"ground_truth": []})
    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM


def test_body_over_limit_is_413(settings):
    small = settings.model_copy(update={"max_body_bytes": 2_000})
    with TestClient(create_app(small), headers=auth("acme")) as client:
        response = client.post("/v1/jobs", **batch(2, size=(64, 64)))
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_idempotent_replay_returns_the_same_job(client, redis_client):
    headers = {"Idempotency-Key": "batch-42"}
    first = client.post("/v1/jobs", **batch(2), headers=headers)
    again = client.post("/v1/jobs", **batch(2), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    assert redis_client.llen("audit") == 1, "a replay queues nothing"
    other = client.post("/v1/jobs", **batch(2), headers={**headers, **auth("globex")})
    assert other.json()["id"] != first.json()["id"], "keys are scoped to the tenant"


def test_replay_ignores_options_spelling(client):
    headers = {"Idempotency-Key": "batch-7"}
    first = client.post("/v1/jobs", **batch(1, knn_k=3), headers=headers)
    kwargs = batch(1)
    kwargs["data"] = {"options": '{ "knn_k" : 3 }'}
    again = client.post("/v1/jobs", **kwargs, headers=headers)
    assert again.json()["id"] == first.json()["id"]


def test_replay_is_served_even_at_the_in_flight_limit(client):
    headers = {"Idempotency-Key": "batch-8"}
    first = client.post("/v1/jobs", **batch(1), headers=headers)
    client.post("/v1/jobs", **batch(1))
    client.post("/v1/jobs", **batch(1))
    assert client.post("/v1/jobs", **batch(1)).status_code == 429
    assert client.post("/v1/jobs", **batch(1), headers=headers).json()["id"] == first.json()["id"]


def test_idempotency_key_with_other_payload_is_422(client):
    headers = {"Idempotency-Key": "batch-42"}
    client.post("/v1/jobs", **batch(2), headers=headers)
    response = client.post("/v1/jobs", **batch(1), headers=headers)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/idempotency-key-reused")


def test_idempotency_key_in_flight_is_409_with_retry_after(client, redis_client, settings):
    keys = IdempotencyKeys(redis_client, prefix=settings.redis_prefix)
    from service.submission import payload_digest

    kwargs = batch(1)
    parts = {"ground_truth": [io.BytesIO(kwargs["files"][0][1][1])]}
    parts |= {"restored": [io.BytesIO(kwargs["files"][1][1][1])], "observation": []}
    digest = payload_digest(parts, JobCreateOptions())
    assert keys.reserve("acme", "k-1", digest).state == "new"
    response = client.post("/v1/jobs", **kwargs, headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 409
    assert int(response.headers["retry-after"]) >= 1


def test_invalid_batch_releases_its_idempotency_key(client):
    headers = {"Idempotency-Key": "k-2"}
    bad = client.post("/v1/jobs", **files_with("restored", 0, b"junk"), headers=headers)
    assert bad.status_code == 422
    bad_again = client.post("/v1/jobs", **files_with("restored", 0, b"junk"), headers=headers)
    assert bad_again.status_code == 422, "not 409: the failed attempt released the key"


def test_broker_down_is_503_and_leaves_nothing(settings, redis_client):
    down = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(down), headers=auth("acme")) as client:
        response = client.post("/v1/jobs", **batch(1), headers={"Idempotency-Key": "k"})
        assert response.status_code == 503
        assert int(response.headers["retry-after"]) > 0
        assert client.get("/v1/jobs").json()["items"] == []
    assert _job_dirs(settings.data_dir) == []
    assert redis_client.keys("ra:idem:*") == []


def test_key_digest_is_sha256_of_key(settings):
    assert settings.api_keys["acme"] == hashlib.sha256(b"key-of-acme").hexdigest()


def test_streamed_body_over_limit_is_413(settings):
    small = settings.model_copy(update={"max_body_bytes": 2_000})
    body = b"--b\r\n" + b"x" * 5_000

    def chunks():
        yield body[:1000]
        yield body[1000:]

    with TestClient(create_app(small), headers=auth("acme")) as client:
        response = client.post(
            "/v1/jobs",
            content=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


def test_unwritable_payload_store_is_503(settings):
    blocked = settings.data_dir.parent / "not-a-dir"
    blocked.write_text("a file where the data directory should be")
    broken = settings.model_copy(update={"data_dir": blocked})
    with TestClient(create_app(broken), headers=auth("acme")) as client:
        response = client.post("/v1/jobs", **batch(1))
        assert response.status_code == 503
        assert int(response.headers["retry-after"]) > 0
        assert client.get("/v1/jobs").json()["items"] == []


def test_malformed_multipart_is_400_problem(client):
    response = client.post(
        "/v1/jobs", content=b"garbage", headers={"Content-Type": "multipart/form-data"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


def test_more_file_parts_than_any_batch_needs_is_400(client):
    kwargs = batch(4)
    kwargs["files"] += [("observation", (f"o{i}.png", b"x", "image/png")) for i in range(6)]
    response = client.post("/v1/jobs", **kwargs)
    assert response.status_code == 400
    assert "Too many files" in response.json()["detail"]


def test_options_may_come_as_a_json_file_part(client, settings):
    kwargs = batch(1)
    options = json.dumps({"color": "rgb"}).encode()
    kwargs["files"].append(("options", ("options.json", options, "application/json")))
    job = client.post("/v1/jobs", **kwargs)
    assert job.status_code == 202, job.text
    from jobstore import PayloadStore

    assert PayloadStore(settings.data_dir).read_manifest(job.json()["id"]).options.color == "rgb"
    kwargs["files"][-1] = ("options", ("options.json", b"\xff\xfe", "application/json"))
    bad = client.post("/v1/jobs", **kwargs)
    assert errors_of(bad) == {"options": "expected UTF-8 JSON text"}


def test_several_samples_per_input_are_accepted_and_kept_in_the_manifest(client, settings):
    pairs = [{"id": f"img-{k}", "group": "sd", "input": "img", "sample": k} for k in range(3)]
    response = client.post("/v1/jobs", **batch(3, size=(24, 24), pairs=pairs))
    assert response.status_code == 202, response.text
    manifest = next((settings.data_dir).rglob("manifest.json"))
    stored = json.loads(manifest.read_text())["pairs"]
    assert [(p["input"], p["sample"]) for p in stored] == [("img", 0), ("img", 1), ("img", 2)]


@pytest.mark.parametrize(
    ("pairs", "part", "words"),
    [
        (  # one input with a single sample in a sampled group
            [
                {"id": "a0", "group": "sd", "input": "a", "sample": 0},
                {"id": "a1", "group": "sd", "input": "a", "sample": 1},
                {"id": "b0", "group": "sd", "input": "b", "sample": 0},
            ],
            "options.pairs[2]",
            "input 'b' of group 'sd' has one sample",
        ),
        (  # a pair without a sample index in a sampled group
            [
                {"id": "a0", "group": "sd", "input": "a", "sample": 0},
                {"id": "a1", "group": "sd", "input": "a", "sample": 1},
                {"id": "c", "group": "sd"},
            ],
            "options.pairs[2]",
            "mixes several samples per input",
        ),
        (  # the same sample index twice
            [
                {"id": "a0", "group": "sd", "input": "a", "sample": 0},
                {"id": "a1", "group": "sd", "input": "a", "sample": 0},
                {"id": "x", "group": "other"},
            ],
            "options.pairs[0]",
            "repeats a sample index",
        ),
    ],
)
def test_sample_layouts_that_cannot_run_are_422_naming_the_pair(client, pairs, part, words):
    response = client.post("/v1/jobs", **batch(3, size=(24, 24), pairs=pairs))
    assert response.status_code == 422
    assert words in errors_of(response)[part]


def test_samples_of_one_input_must_agree_in_size(client):
    pairs = [{"id": f"img-{k}", "group": "sd", "input": "img", "sample": k} for k in range(2)]
    kwargs = batch(2, size=(24, 24), pairs=pairs)
    files = kwargs["files"]
    files[1] = ("ground_truth", ("gt1.png", png((24, 28), seed=1), "image/png"))
    files[3] = ("restored", ("r1.png", png((24, 28), seed=11), "image/png"))
    response = client.post("/v1/jobs", **kwargs)
    assert response.status_code == 422
    assert "differ in size" in errors_of(response)["options.pairs[0]"]


def test_options_take_the_short_degradation_form(client):
    response = client.post("/v1/jobs", **batch(2, size=(64, 64), degradation="blur:1.5"))
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("degradation", "part", "words"),
    [
        ({"factor": 4}, "options.degradation", "expected a degradation"),
        ("downsample:four", "options.degradation", "expected an integer in 'downsample:four'"),
        ({"type": "downsample", "factor": 40}, "options.degradation.factor", "less than or equal"),
    ],
)
def test_degradation_problems_name_no_internals(client, degradation, part, words):
    response = client.post("/v1/jobs", **batch(2, size=(64, 64), degradation=degradation))
    assert response.status_code == 422
    errors = errors_of(response)
    assert words in errors[part], errors
    for internal in ("_spec_tag", "discriminator", "Value error"):
        assert internal not in response.text


def test_a_preset_is_accepted_and_resolved_in_the_stored_options(client):
    kwargs = batch(2, size=(64, 64))
    kwargs["data"] = {"options": json.dumps({"preset": "rgb"})}
    response = client.post("/v1/jobs", **kwargs)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"preset": "rgb", "color": "y"}, "color y contradicts it"),
        ({"preset": "basicsr-y"}, "give a downsampling degradation or crop_border"),
        ({"preset": "matlab"}, "basicsr-y"),
    ],
)
def test_a_preset_contradicted_or_unknown_is_a_422_naming_it(client, options, words):
    kwargs = batch(2, size=(64, 64))
    kwargs["data"] = {"options": json.dumps(options)}
    response = client.post("/v1/jobs", **kwargs)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert words in response.text, response.text
    assert "Value error" not in response.text
