"""The self-check request (api_schemas.selfcheck): the command line's parameters and rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api_schemas.selfcheck import SelfCheckCreate, synthesis_bytes


def test_the_short_form_and_the_json_form_give_one_degradation() -> None:
    short = SelfCheckCreate.model_validate({"degradation": "downsample:4:bicubic"})
    json_form = SelfCheckCreate.model_validate(
        {"degradation": {"type": "downsample", "factor": 4, "kernel": "bicubic"}}
    )
    assert short.degradation == json_form.degradation
    assert short.degradation == {"type": "downsample", "factor": 4, "kernel": "bicubic"}
    # The defaults of `restoration-audit selfcheck`.
    assert (short.images, short.size, short.seed, short.tolerance, short.resamples) == (
        8,
        128,
        0,
        0.05,
        200,
    )


def test_only_the_audit_options_the_client_set_are_passed_on() -> None:
    request = SelfCheckCreate.model_validate(
        {"degradation": "noise:0.05", "resamples": 20, "audit": {"patch_size": 6}}
    )
    assert request.audit_overrides() == {"patch_size": 6, "bootstrap": {"resamples": 20}}
    options = request.effective_audit_options()
    assert (options.patch_size, options.maps, options.bootstrap.resamples) == (6, False, 20)
    assert options.degradation == {"type": "noise", "sigma": 0.05}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"degradation": "warp:3"}, "degradation"),
        ({"degradation": {"type": "warp"}}, "degradation"),
        ({}, "degradation"),
        ({"degradation": "noise:0.05", "images": 1}, "images"),
        ({"degradation": "noise:0.05", "size": 15}, "size"),
        ({"degradation": "noise:0.05", "tolerance": 0.0}, "tolerance"),
        ({"degradation": "noise:0.05", "audit": {"degradation": {"type": "noise"}}}, "audit"),
        ({"degradation": "noise:0.05", "bootstrap": 20}, "bootstrap"),
    ],
)
def test_invalid_requests_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        SelfCheckCreate.model_validate(body)
    assert error.value.errors()[0]["loc"][0] == field


def test_the_synthesis_estimate_grows_with_images_and_canvas() -> None:
    # 12 float64 canvases per system, 2 systems per image; the canvas is 1.5 x 64 = 96.
    assert synthesis_bytes(4, 64) == 12 * 2 * 4 * 96 * 96 * 8
    assert synthesis_bytes(8, 64) == 2 * synthesis_bytes(4, 64)
