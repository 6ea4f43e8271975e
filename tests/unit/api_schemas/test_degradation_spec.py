"""Degradation wire models and the CLI short form (docs/theory.md §3.6)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api_schemas.degradation import (
    QUANTISATION_NOISE_VARIANCE,
    BlurSpec,
    CompositeSpec,
    DownsampleSpec,
    NoiseSpec,
    noise_variance,
    parse_degradation,
    parse_degradation_short,
    super_resolution_factor,
)
from api_schemas.options import AuditOptions
from api_schemas.problems import error_location, error_message


def test_short_downsample_with_and_without_kernel() -> None:
    spec = parse_degradation_short("downsample:4:bicubic")
    assert spec == DownsampleSpec(factor=4, kernel="bicubic")
    assert parse_degradation_short("downsample:3") == DownsampleSpec(factor=3, kernel="bicubic")
    assert parse_degradation_short(" Downsample:2:AREA ") == DownsampleSpec(factor=2, kernel="area")


def test_short_blur_and_noise() -> None:
    assert parse_degradation_short("blur:1.6") == BlurSpec(sigma=1.6)
    assert parse_degradation_short("noise:0.01") == NoiseSpec(sigma=0.01)


def test_short_composition_in_order() -> None:
    spec = parse_degradation_short("blur:1.0+downsample:2:area+noise:0.01")
    assert isinstance(spec, CompositeSpec)
    assert [step.type for step in spec.steps] == ["blur", "downsample", "noise"]
    assert spec.steps[1] == DownsampleSpec(factor=2, kernel="area")


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("downsample:4:lanczos", "downsample:4:lanczos"),
        ("downsample:x", "'x'"),
        ("downsample:1", "downsample:1"),
        ("downsample:17:area", "downsample:17:area"),
        ("blur:abc", "'abc'"),
        ("blur:-1", "blur:-1"),
        ("blur:nan", "blur:nan"),
        ("noise:-0.1", "noise:-0.1"),
        ("sharpen:2", "sharpen:2"),
        ("blur:1:2", "blur:1:2"),
        ("blur:1+downsample:2:box", "downsample:2:box"),
    ],
)
def test_short_form_errors_name_the_bad_token(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=bad.replace("+", r"\+")) as info:
        parse_degradation_short(text)
    assert not isinstance(info.value, ValidationError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("noise:0.01+blur:1", "order blur -> downsample -> noise"),
        ("downsample:2+blur:1", "order blur -> downsample -> noise"),
        ("blur:1+blur:2", "at most once"),
        ("", "joined with"),
        ("blur:1++noise:0.1", "joined with"),
    ],
)
def test_short_form_rejects_bad_compositions(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_degradation_short(text)


def test_json_union_discriminates_on_type_and_bare_steps() -> None:
    assert parse_degradation({"type": "noise", "sigma": 0.0}) == NoiseSpec(sigma=0.0)
    bare = parse_degradation(
        {"steps": [{"type": "blur", "sigma": 2}, {"type": "downsample", "factor": 2}]}
    )
    assert isinstance(bare, CompositeSpec)
    tagged = parse_degradation({"type": "composite", "steps": [{"type": "noise", "sigma": 0.1}]})
    assert isinstance(tagged, CompositeSpec)
    # round trip through JSON
    assert parse_degradation(bare.model_dump(mode="json")) == bare


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "downsample", "factor": 4, "extra": 1}, "Extra inputs"),
        ({"type": "downsample", "factor": 4.5}, "valid integer"),
        ({"type": "blur"}, "exactly one"),
        ({"type": "blur", "sigma": 1.0, "kernel": [[1.0]]}, "exactly one"),
        ({"type": "blur", "kernel": [[0.5, 0.5]]}, "odd blur kernel sides"),
        ({"type": "blur", "kernel": [[0.5], [0.25, 0.25]]}, "rectangular"),
        ({"type": "blur", "kernel": [[0.5, 0.2, 0.2]]}, "summing to 1"),
        ({"type": "blur", "kernel": []}, "non-empty"),
        ({"type": "blur", "kernel": [[1.0 / 33] * 33]}, "at most 31x31"),
        ({"type": "blur", "kernel": [[float("nan")]]}, "finite"),
        ({"type": "rotate"}, "rotate"),
        ({"steps": []}, "at least 1"),
        (
            {"steps": [{"type": "noise", "sigma": 0.1}, {"type": "downsample", "factor": 2}]},
            "order",
        ),
    ],
)
def test_json_validation_errors(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_degradation(data)


def test_explicit_kernel_accepted() -> None:
    kernel = [[0.0, 0.2, 0.0], [0.2, 0.2, 0.2], [0.0, 0.2, 0.0]]
    spec = parse_degradation({"type": "blur", "kernel": kernel})
    assert isinstance(spec, BlurSpec)
    assert spec.kernel == kernel


def test_super_resolution_factor() -> None:
    assert super_resolution_factor(parse_degradation_short("downsample:4")) == 4
    assert super_resolution_factor(parse_degradation_short("blur:1+downsample:3:gaussian")) == 3
    assert super_resolution_factor(parse_degradation_short("blur:1+noise:0.1")) is None
    assert super_resolution_factor(parse_degradation_short("noise:0.1")) is None


def test_noise_variance_named_or_quantisation_floor() -> None:
    assert pytest.approx(1 / (12 * 255**2), rel=1e-15) == QUANTISATION_NOISE_VARIANCE
    assert noise_variance(parse_degradation_short("noise:0.05")) == pytest.approx(0.0025, rel=1e-12)
    spec = parse_degradation_short("blur:1+downsample:2+noise:0.02")
    assert noise_variance(spec) == pytest.approx(4e-4, rel=1e-12)
    assert noise_variance(parse_degradation_short("downsample:4")) == QUANTISATION_NOISE_VARIANCE
    # a named sigma under the 8-bit floor (including 0) is raised to the floor
    assert noise_variance(parse_degradation_short("noise:0")) == QUANTISATION_NOISE_VARIANCE


def test_json_takes_the_short_form_too() -> None:
    """examples/README.md's ``{"degradation": "downsample:4:bicubic"}``."""
    assert parse_degradation("downsample:4:bicubic") == DownsampleSpec(factor=4, kernel="bicubic")
    options = AuditOptions.model_validate_json('{"degradation": "blur:1+downsample:2:area"}')
    assert options.degradation == parse_degradation_short("blur:1+downsample:2:area").model_dump(
        mode="json"
    )


@pytest.mark.parametrize(
    ("value", "part", "words"),
    [
        ({"factor": 4}, "degradation", "got no type"),
        ({"type": "rotate"}, "degradation", "got type 'rotate'"),
        (5, "degradation", "got int"),
        ("downsample:x", "degradation", "expected an integer in 'downsample:x'"),
        ({"type": "downsample", "factor": 40}, "degradation.factor", "less than or equal to 16"),
        (
            {"steps": [{"type": "blur", "sigma": -1}]},
            "degradation.steps[0].sigma",
            "greater than 0",
        ),
    ],
)
def test_errors_speak_the_clients_words(value: object, part: str, words: str) -> None:
    """No discriminator function names, no union tags in locations, no "Value error, "."""
    with pytest.raises(ValidationError) as info:
        AuditOptions.model_validate({"degradation": value})
    (error,) = info.value.errors()
    assert error_location(error["loc"]) == part
    message = error_message(error)
    assert words in message
    for internal in ("_spec_tag", "discriminator", "Value error", "union_tag"):
        assert internal not in message
