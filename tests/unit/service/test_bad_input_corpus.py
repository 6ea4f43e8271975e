"""The bad-input corpus: every kind of bad request a production pipeline sends, with its answer.

One table, one test per row, against the real app over ASGI and the session's real Redis. Each
row says the status the request must get and the part its problem must name; every answer must
be ``application/problem+json`` (RFC 9457) with that status, never a 5xx, and the same app must
accept a valid batch right afterwards (the service keeps serving).

Limits are set low here (512 KiB bodies, one megapixel per image, four pairs) so that the
requests over them stay small.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from service.main import create_app
from tests.support.crafted_images import (
    grey_palette,
    noise,
    pa_tiff,
    png_with_late_exif,
    png_with_late_ztxt,
    strip_bomb_tiff,
)
from tests.unit.service.conftest import auth, batch, png

PROBLEM = "application/problem+json"
KIB = 1024
MAX_BODY = 512 * KIB
MAX_PIXELS = 1_000_000
VALID_SIZE = (16, 12)  # the smallest the default options accept is 11x11 (the SSIM window)
NOISE = {"type": "noise", "sigma": 0.01}


# -- bad files ----------------------------------------------------------------------------------


def _encode(im: Image.Image, fmt: str, **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _photo(size: tuple[int, int] = (64, 64), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def _float_tiff(value: float, size: tuple[int, int] = VALID_SIZE) -> bytes:
    pixels = np.full((size[1], size[0]), 0.5, dtype=np.float32)
    pixels[2, 3] = value
    return _encode(Image.fromarray(pixels, mode="F"), "TIFF")


def _animated(fmt: str) -> bytes:
    first = _photo(VALID_SIZE)
    return _encode(first, fmt, save_all=True, append_images=[first.rotate(180)])


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


# -- requests -----------------------------------------------------------------------------------

Request = dict[str, Any]


def _post(**kwargs: Any) -> Request:
    return {"method": "POST", "url": "/v1/jobs", **kwargs}


def _replace(role: str, content: bytes, index: int = 0, n: int = 1) -> Request:
    """A valid batch of ``n`` pairs with the ``index``-th ``role`` part replaced."""
    kwargs = batch(n, size=VALID_SIZE)
    files = kwargs["files"]
    if role == "observation":  # observations come with the (size-preserving) degradation
        files += [("observation", (f"o{i}.png", png(VALID_SIZE), "image/png")) for i in range(n)]
        kwargs["data"] = {"options": json.dumps({"degradation": NOISE})}
    positions = [i for i, (name, _) in enumerate(files) if name == role]
    files[positions[index]] = (role, ("upload.png", content, "image/png"))
    return _post(**kwargs)


def _with_options(options: str | dict[str, Any], n: int = 2, size=VALID_SIZE) -> Request:
    kwargs = batch(n, size=size)
    kwargs["data"] = {"options": options if isinstance(options, str) else json.dumps(options)}
    return _post(**kwargs)


def _pair(gt: bytes, restored: bytes, **extra: Any) -> Request:
    files = [
        ("ground_truth", ("gt.png", gt, "image/png")),
        ("restored", ("r.png", restored, "image/png")),
    ]
    return _post(files=files, **extra)


def _parts(*parts: tuple[str, bytes], data: dict[str, str] | None = None) -> Request:
    return _post(
        files=[(name, (f"{name}.png", body, "image/png")) for name, body in parts], data=data or {}
    )


def _idempotent(key: str) -> Request:
    return _post(**batch(1, size=VALID_SIZE), headers={"Idempotency-Key": key})


def _streamed(size: int) -> Request:
    def chunks() -> Iterator[bytes]:
        sent = 0
        while sent < size:
            yield b"x" * 64 * KIB
            sent += 64 * KIB

    return _post(content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"})


def _downsampled_with_observation() -> Request:
    """Downsampling by 2 makes 16x16 observations of 32x32 ground truths; this one is 32x32."""
    files = [
        ("ground_truth", ("g.png", png((32, 32)), "image/png")),
        ("restored", ("r.png", png((32, 32), seed=3), "image/png")),
        ("observation", ("o.png", png((32, 32)), "image/png")),
    ]
    options = {"degradation": {"type": "downsample", "factor": 2}}
    return _post(files=files, data={"options": json.dumps(options)})


@dataclass(frozen=True)
class Case:
    """One kind of bad request: how to make it, and the answer it must get."""

    request: Callable[[TestClient], Request]
    status: int
    part: str
    """The ``errors[].part`` the problem must name (a prefix when it ends with ``*``)."""
    message: str = ""
    """Words the message about ``part`` must contain."""
    slug: str | None = None
    setup: Callable[[TestClient], None] = field(default=lambda client: None)


def _job(client: TestClient) -> str:
    response = client.post("/v1/jobs", **batch(1, size=VALID_SIZE))
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _first_use(client: TestClient) -> None:
    response = client.request(**_idempotent("reused-key"))
    assert response.status_code == 202, response.text


GT, RS = png(VALID_SIZE, seed=1), png(VALID_SIZE, seed=2)
CASES: dict[str, Case] = {
    # Files that are not (whole) images.
    "truncated_png": Case(
        lambda c: _replace("ground_truth", png((64, 64))[:-20]), 422, "ground_truth[0]", "truncated"
    ),
    "truncated_jpeg": Case(
        lambda c: _replace("restored", _half(_encode(_photo(), "JPEG"))),
        422,
        "restored[0]",
        "truncated JPEG",
    ),
    "truncated_progressive_jpeg": Case(
        lambda c: _replace("restored", _half(_encode(_photo(), "JPEG", progressive=True))),
        422,
        "restored[0]",
        "truncated JPEG",
    ),
    "truncated_tiff": Case(
        lambda c: _replace("restored", _half(_encode(_photo(), "TIFF"))),
        422,
        "restored[0]",
        "truncated TIFF",
    ),
    "truncated_webp": Case(
        lambda c: _replace("restored", _half(_encode(_photo(), "WEBP"))),
        422,
        "restored[0]",
        "not a decodable image",
    ),
    "wrong_magic_bytes": Case(
        lambda c: _replace("ground_truth", b"\0" * 8 + png()[8:]),
        422,
        "ground_truth[0]",
        "not a decodable image",
    ),
    "jpeg_behind_png_magic": Case(
        lambda c: _replace("restored", b"\x89PNG\r\n\x1a\n" + _encode(_photo(), "JPEG")[8:]),
        422,
        "restored[0]",
        "not a decodable image",
    ),
    "zero_byte_part": Case(
        lambda c: _replace("restored", b""), 422, "restored[0]", "not a decodable image"
    ),
    "text_sent_as_image": Case(
        lambda c: _replace("ground_truth", b"ground truth, honest\n" * 20),
        422,
        "ground_truth[0]",
        "not a decodable image",
    ),
    "svg_sent_as_image": Case(
        lambda c: _replace(
            "restored", b'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="12"/>'
        ),
        422,
        "restored[0]",
        "not a decodable image",
    ),
    "bmp_not_accepted": Case(
        lambda c: _replace("restored", _encode(_photo(VALID_SIZE), "BMP")),
        422,
        "restored[0]",
        "not a decodable image",
    ),
    "corrupt_observation": Case(
        lambda c: _replace("observation", b"\x89PNG\r\n\x1a\n garbage"),
        422,
        "observation[0]",
        "not a decodable image",
    ),
    # Images of a kind the audit does not take.
    "animated_gif": Case(
        lambda c: _replace("restored", _animated("GIF")),
        422,
        "restored[0]",
        "not a decodable image",
    ),
    "animated_png": Case(
        lambda c: _replace("restored", _animated("PNG")), 422, "restored[0]", "single frame"
    ),
    "animated_webp": Case(
        lambda c: _replace("ground_truth", _animated("WEBP")),
        422,
        "ground_truth[0]",
        "single frame",
    ),
    "cmyk_jpeg": Case(
        lambda c: _replace("restored", _encode(_photo(VALID_SIZE).convert("CMYK"), "JPEG")),
        422,
        "restored[0]",
        "mode 'CMYK'",
    ),
    "bilevel_png": Case(
        lambda c: _replace("restored", _encode(_photo(VALID_SIZE).convert("1"), "PNG")),
        422,
        "restored[0]",
        "mode '1'",
    ),
    "int32_tiff": Case(
        lambda c: _replace(
            "restored", _encode(Image.fromarray(np.zeros((12, 16), np.int32)), "TIFF")
        ),
        422,
        "restored[0]",
        "mode 'I'",
    ),
    "float_tiff_nan": Case(
        lambda c: _replace("restored", _float_tiff(float("nan"))), 422, "restored[0]", "finite"
    ),
    "float_tiff_infinity": Case(
        lambda c: _replace("ground_truth", _float_tiff(float("inf"))),
        422,
        "ground_truth[0]",
        "finite",
    ),
    "float_tiff_out_of_range": Case(
        lambda c: _replace("restored", _float_tiff(1.5)), 422, "restored[0]", "in [0, 1]"
    ),
    "sixteen_bit_grey_tiff_vs_rgb": Case(
        lambda c: _pair(_encode(Image.fromarray(np.full((12, 16), 40000, np.uint16)), "TIFF"), RS),
        422,
        "restored[0]",
        "channel",
    ),
    "decompression_bomb": Case(
        lambda c: _replace("ground_truth", _encode(Image.new("1", (10_000, 10_000)), "PNG")),
        422,
        "ground_truth[0]",
        "too large",
    ),
    "over_pixel_limit": Case(
        lambda c: _replace("ground_truth", _encode(Image.new("L", (1001, 1000)), "PNG")),
        422,
        "ground_truth[0]",
        "over 1000000 pixels",
    ),
    # Pairs that do not pair.
    "mismatched_sizes": Case(
        lambda c: _pair(GT, png((20, 12))), 422, "restored[0]", "size 20x12 differs"
    ),
    "grey_vs_colour": Case(
        lambda c: _pair(GT, png(VALID_SIZE, mode="L")), 422, "restored[0]", "channel"
    ),
    "fewer_restored_than_ground_truth": Case(
        lambda c: _parts(("ground_truth", GT), ("ground_truth", GT), ("restored", RS)),
        422,
        "restored",
        "expected 2 parts",
    ),
    "observation_count_mismatch": Case(
        lambda c: _parts(
            ("ground_truth", GT),
            ("ground_truth", GT),
            ("restored", RS),
            ("restored", RS),
            ("observation", GT),
            data={"options": json.dumps({"degradation": NOISE})},
        ),
        422,
        "observation",
        "expected none or 2",
    ),
    "observation_without_degradation": Case(  # an observation is only used with its degradation
        lambda c: _parts(("ground_truth", GT), ("restored", RS), ("observation", GT)),
        422,
        "observation",
        "only used with a known degradation",
    ),
    "no_ground_truth": Case(lambda c: _parts(("restored", RS)), 422, "ground_truth", ""),
    "smaller_than_ssim_window": Case(
        lambda c: _pair(png((10, 10)), png((10, 10))), 422, "ground_truth[0]", "too small"
    ),
    "smaller_than_patch": Case(
        lambda c: _with_options({"patch_size": 16}, size=(14, 14)),
        422,
        "ground_truth[0]",
        "patch size 16",
    ),
    "border_leaves_too_little": Case(
        lambda c: _with_options({"crop_border": 4}), 422, "ground_truth[0]", "border 4"
    ),
    "observation_size_vs_degradation": Case(
        lambda c: _downsampled_with_observation(), 422, "observation[0]", "makes 16x16"
    ),
    # The API and the worker decide by one policy (api_schemas.images); each of these was
    # accepted with 202 and failed in the worker, or the other way round (issue #11, item 7).
    "png_exif_orientation_turns_the_ground_truth": Case(
        lambda c: _pair(png_with_late_exif(noise(VALID_SIZE), 6), RS),
        422,
        "restored[0]",
        "differ only by EXIF orientation",
    ),
    "grey_palette_ground_truth_with_rgb_restored": Case(
        lambda c: _pair(_encode(grey_palette(VALID_SIZE), "PNG"), RS),
        422,
        "restored[0]",
        "3 channel(s) (RGB) but ground_truth[0] has 1 channel(s) (grey)",
    ),
    "grey_palette_pa_tiff_with_rgb_ground_truth": Case(
        lambda c: _pair(GT, pa_tiff(VALID_SIZE, grey=True)),
        422,
        "restored[0]",
        "1 channel(s) (grey) but ground_truth[0] has 3",
    ),
    "ztxt_past_1_mib_after_the_pixels": Case(
        lambda c: _replace("restored", png_with_late_ztxt(noise(VALID_SIZE), (1 << 20) + 1)),
        422,
        "restored[0]",
        "zTXt chunk decompresses to more than 1048576 bytes",
    ),
    "color_rgb_with_grey_images": Case(
        lambda c: _pair(
            png(VALID_SIZE, mode="L"),
            png(VALID_SIZE, mode="L", seed=2),
            data={"options": json.dumps({"color": "rgb"})},
        ),
        422,
        "options.color",
        "ground_truth[0] is grey",
    ),
    "grey_observation_with_rgb_ground_truth": Case(
        lambda c: _parts(
            ("ground_truth", GT),
            ("restored", RS),
            ("observation", png(VALID_SIZE, mode="L")),
            data={"options": json.dumps({"degradation": NOISE})},
        ),
        422,
        "observation[0]",
        "1 channel(s) (grey) but ground_truth[0] has 3",
    ),
    "patch_size_16_on_16x16": Case(
        lambda c: _with_options({"patch_size": 16}, size=(16, 16)),
        422,
        "options.patch_size",
        "knn_k = 3 needs at least 4",
    ),
    "knn_k_32_on_tiny_images": Case(
        lambda c: _with_options({"knn_k": 32}, size=(11, 11)),
        422,
        "options.knn_k",
        "knn_k = 32 needs at least 33",
    ),
    "patch_sweep_larger_than_the_image": Case(
        lambda c: _with_options({"patch_sizes": [4, 16]}, size=(15, 15)),
        422,
        "ground_truth[0]",
        "patch sizes 4, 16",
    ),
    # Decode amplification: refused from the header, never decoded (issue #11, item 3).
    "tiff_strips_sharing_one_deflated_run": Case(
        lambda c: _replace("restored", strip_bomb_tiff(1000, 1000, 16)),
        422,
        "restored[0]",
        "compression ratio",
    ),
    # Sizes and counts over the limits.
    "body_over_limit_declared": Case(
        lambda c: _replace("ground_truth", b"\0" * (MAX_BODY + 1)), 413, "body", "at most"
    ),
    "body_over_limit_streamed": Case(lambda c: _streamed(MAX_BODY + 128 * KIB), 413, "body", ""),
    "too_many_pairs": Case(
        lambda c: _post(**batch(5, size=VALID_SIZE)), 422, "ground_truth", "at most 4 pairs"
    ),
    "too_many_file_parts": Case(
        lambda c: _parts(*[("observation", b"x")] * 14), 400, "body", "Too many files"
    ),
    # The options part.
    "unknown_option_field": Case(
        lambda c: _with_options({"patchsize": 4}), 422, "options.patchsize", "Extra inputs"
    ),
    "unknown_nested_option": Case(
        lambda c: _with_options({"bootstrap": {"rounds": 3}}),
        422,
        "options.bootstrap.rounds",
        "Extra inputs",
    ),
    "duplicate_options_parts": Case(  # not last-wins: which one did the client mean?
        lambda c: _post(
            files=batch(1, size=VALID_SIZE)["files"],
            data={"options": [json.dumps({"patch_size": 4}), json.dumps({"patch_size": 8})]},
        ),
        422,
        "options",
        "expected one options part, got 2",
    ),
    "duplicate_options_field_and_file": Case(
        lambda c: _post(
            files=[
                *batch(1, size=VALID_SIZE)["files"],
                ("options", ("options.json", b'{"color": "rgb"}', "application/json")),
            ],
            data={"options": json.dumps({"color": "y"})},
        ),
        422,
        "options",
        "expected one options part, got 2",
    ),
    "options_not_json": Case(lambda c: _with_options("{patch_size: 4"), 422, "options", "JSON"),
    "options_not_an_object": Case(lambda c: _with_options("[1, 2]"), 422, "options", ""),
    "options_not_utf8": Case(
        lambda c: _post(
            files=[
                *batch(1, size=VALID_SIZE)["files"],
                ("options", ("o.json", b"\xff\xfe{}", "application/json")),
            ]
        ),
        422,
        "options",
        "UTF-8",
    ),
    "option_out_of_range": Case(
        lambda c: _with_options({"patch_size": 1}), 422, "options.patch_size", ""
    ),
    "option_not_finite": Case(
        lambda c: _with_options('{"renyi_order": NaN}'), 422, "options.renyi_order", ""
    ),
    "thresholds_inconsistent": Case(
        lambda c: _with_options({"thresholds": {"medium_invented_detail_ratio": 0.9}}),
        422,
        "options.thresholds",
        "must not exceed",
    ),
    "degradation_unknown_type": Case(
        lambda c: _with_options({"degradation": {"type": "zoom", "factor": 2}}),
        422,
        "options.degradation*",
        "",
    ),
    "degradation_factor_one": Case(
        lambda c: _with_options({"degradation": {"type": "downsample", "factor": 1}}),
        422,
        "options.degradation*",
        "",
    ),
    "degradation_kernel_not_normalised": Case(
        lambda c: _with_options({"degradation": {"type": "blur", "kernel": [[1, 1], [1, 1]]}}),
        422,
        "options.degradation*",
        "",
    ),
    "degradation_negative_noise": Case(
        lambda c: _with_options({"degradation": {"type": "noise", "sigma": -0.1}}),
        422,
        "options.degradation*",
        "",
    ),
    "pairs_count_mismatch": Case(
        lambda c: _with_options({"pairs": [{"id": "only-one"}]}),
        422,
        "options.pairs",
        "expected 2 entries",
    ),
    "duplicate_pair_ids": Case(
        lambda c: _with_options({"pairs": [{"id": "pair-1"}, {}]}),
        422,
        "options.pairs[1].id",
        "duplicate",
    ),
    # Names that try to leave their directory.
    "traversal_in_pair_id": Case(
        lambda c: _with_options({"pairs": [{"id": "../../etc/passwd"}, {}]}),
        422,
        "options.pairs[0].id",
        "",
    ),
    "traversal_in_group": Case(
        lambda c: _with_options({"pairs": [{"group": "../x"}, {}]}),
        422,
        "options.pairs[0].group",
        "",
    ),
    "traversal_in_artifact_name": Case(
        lambda c: {"method": "GET", "url": f"/v1/jobs/{_job(c)}/artifacts/..%5C..%5Cmanifest.json"},
        404,
        "name",
        "no artifact",
    ),
    "traversal_in_artifact_path": Case(
        lambda c: {"method": "GET", "url": f"/v1/jobs/{_job(c)}/artifacts/..%2F..%2Fmanifest.json"},
        404,
        "path",
        "",
    ),
    "traversal_in_job_id": Case(
        lambda c: {"method": "GET", "url": "/v1/jobs/..%5C..%5Cetc%5Cpasswd"},
        404,
        "job_id",
        "no job",
    ),
    "unknown_part_name": Case(
        lambda c: _post(
            files=[
                *batch(1, size=VALID_SIZE)["files"],
                ("observations", ("o.png", GT, "image/png")),
            ]
        ),
        422,
        "observations",
        "unknown part",
    ),
    # Headers.
    "idempotency_key_empty": Case(lambda c: _idempotent(""), 422, "idempotency-key", ""),
    "idempotency_key_too_long": Case(lambda c: _idempotent("k" * 256), 422, "idempotency-key", ""),
    "idempotency_key_with_space": Case(
        lambda c: _idempotent("batch 42"), 422, "idempotency-key", ""
    ),
    "idempotency_key_reused": Case(
        lambda c: _post(**batch(2, size=VALID_SIZE), headers={"Idempotency-Key": "reused-key"}),
        422,
        "idempotency-key",
        "different payload",
        setup=_first_use,
    ),
    "json_instead_of_multipart": Case(
        lambda c: _post(json={"ground_truth": ["x"]}), 415, "content-type", "application/json"
    ),
    "no_content_type": Case(
        lambda c: _post(content=b"raw bytes", headers={"Content-Type": ""}), 415, "content-type", ""
    ),
    "multipart_without_boundary": Case(
        lambda c: _post(content=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}),
        400,
        "body",
        "",
    ),
    "malformed_multipart": Case(
        lambda c: _post(
            content=b"--b\r\nno headers here",
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        ),
        400,
        "body",
        "",
    ),
    "no_api_key": Case(
        lambda c: _post(**batch(1, size=VALID_SIZE), headers={"Authorization": ""}),
        401,
        "authorization",
        "no bearer token",
    ),
    "unknown_api_key": Case(
        lambda c: {
            "method": "GET",
            "url": "/v1/jobs",
            "headers": {"Authorization": "Bearer not-a-key"},
        },
        401,
        "authorization",
        "unknown",
    ),
    # Query parameters and routes.
    "page_size_zero": Case(
        lambda c: {"method": "GET", "url": "/v1/jobs", "params": {"page_size": 0}},
        422,
        "page_size",
        "",
    ),
    "unknown_state_filter": Case(
        lambda c: {"method": "GET", "url": "/v1/jobs", "params": {"state": "sleeping"}},
        422,
        "state",
        "",
    ),
    "forged_page_token": Case(
        lambda c: {"method": "GET", "url": "/v1/jobs", "params": {"page_token": "eyJ0IjoxfQ"}},
        422,
        "page_token",
        "",
    ),
    "wrong_method": Case(lambda c: {"method": "PUT", "url": "/v1/jobs"}, 405, "method", ""),
}


@pytest.fixture
def corpus_client(settings) -> Iterator[TestClient]:
    strict = settings.model_copy(
        update={"max_body_bytes": MAX_BODY, "max_pixels_per_image": MAX_PIXELS}
    )
    with TestClient(create_app(strict), headers=auth("acme"), raise_server_exceptions=False) as c:
        yield c


def test_corpus_has_every_kind_the_issue_names():
    assert len(CASES) >= 30
    for kind in (
        "truncated_png", "truncated_jpeg", "wrong_magic_bytes", "zero_byte_part",
        "text_sent_as_image", "animated_gif", "cmyk_jpeg", "sixteen_bit_grey_tiff_vs_rgb",
        "float_tiff_nan", "mismatched_sizes", "fewer_restored_than_ground_truth",
        "grey_vs_colour", "smaller_than_patch", "smaller_than_ssim_window",
        "decompression_bomb", "body_over_limit_declared", "too_many_pairs",
        "unknown_option_field", "degradation_unknown_type", "idempotency_key_too_long",
        "traversal_in_pair_id", "duplicate_options_parts", "observation_without_degradation",
    ):  # fmt: skip
        assert kind in CASES


@pytest.mark.parametrize("name", list(CASES))
def test_bad_request_gets_its_problem_and_the_service_keeps_serving(corpus_client, name):
    case = CASES[name]
    case.setup(corpus_client)
    response = corpus_client.request(**case.request(corpus_client))

    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == case.status
    assert body["title"]
    assert body["type"]
    parts = {e["part"]: e["message"] for e in body.get("errors") or []}
    if case.part.endswith("*"):
        named = [p for p in parts if p.startswith(case.part[:-1])]
    else:
        named = [p for p in parts if p == case.part]
    assert named, f"expected part {case.part!r}, got {parts}"
    assert case.message in parts[named[0]], parts
    if case.slug is not None:
        assert body["type"].endswith("/" + case.slug)

    valid = corpus_client.post("/v1/jobs", **batch(1, size=VALID_SIZE))
    assert valid.status_code == 202, valid.text


def test_client_file_names_never_reach_the_payload_store(corpus_client, settings):
    # Names are the API's own (role and index): a traversal in the upload's file name is inert.
    files = [
        ("ground_truth", ("../../../../tmp/evil.png", GT, "image/png")),
        ("restored", ("..\\..\\evil.png", RS, "image/png")),
    ]
    response = corpus_client.post("/v1/jobs", files=files)
    assert response.status_code == 202, response.text
    stored = settings.data_dir / "jobs" / response.json()["id"] / "input"
    assert sorted(p.name for p in stored.iterdir()) == [
        "ground_truth-00000.png",
        "restored-00000.png",
    ]
    assert not any("evil" in str(p) for p in settings.data_dir.rglob("*"))
