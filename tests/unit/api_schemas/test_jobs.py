"""Job and problem wire models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

import api_schemas
from api_schemas import JobCreateOptions, JobLinks, JobManifest, ManifestPair, Problem
from api_schemas.jobs import artifact_stem, pair_id_problem
from jobstore.payloads import validate_name


def _isort_key(name: str) -> tuple[int, str]:
    # ruff RUF022 order: CONSTANTS, then Classes, then functions.
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_public_surface_is_sorted_and_importable():
    assert api_schemas.__all__ == sorted(api_schemas.__all__, key=_isort_key)
    for name in api_schemas.__all__:
        assert hasattr(api_schemas, name)


def test_links_serialise_self_by_alias():
    links = JobLinks.model_validate({"self": "/a", "report": "/a/report", "cancel": "/a/cancel"})
    assert links.self_ == "/a"
    assert links.model_dump()["self"] == "/a"
    assert JobLinks(self_="/b", report="r", cancel="c").self_ == "/b"


def test_create_options_default_and_pair_specs():
    assert JobCreateOptions().pairs is None
    options = JobCreateOptions.model_validate({"pairs": [{"id": "a", "group": "x"}], "knn_k": 5})
    assert options.audit_options().knn_k == 5
    assert "pairs" not in options.audit_options().model_dump()


@pytest.mark.parametrize(
    "pairs",
    [[{"id": "a"}, {"id": "a"}], [{"id": "../a"}], [{"group": "has space"}], [{"name": "x"}]],
)
def test_bad_pair_specs_are_refused(pairs):
    with pytest.raises(ValidationError):
        JobCreateOptions.model_validate({"pairs": pairs})


@pytest.mark.parametrize("path", ["/abs.png", "../up.png", "a/../../b.png", "a\\b.png", ""])
def test_manifest_paths_stay_inside_the_input_dir(path):
    with pytest.raises(ValidationError, match="relative"):
        ManifestPair(id="a", ground_truth=path, restored="r.png")


def test_manifest_needs_a_pair():
    with pytest.raises(ValidationError):
        JobManifest(
            job_id="0" * 32,
            tenant="t",
            created_at=datetime.now(UTC),
            options=api_schemas.AuditOptions(),
            pairs=[],
        )


def test_problem_defaults_to_about_blank():
    problem = Problem(title="Not Found", status=404)
    assert problem.type == "about:blank"
    assert Problem.model_validate({"title": "x", "status": 500, "extension": 1}).errors is None


@pytest.mark.parametrize(
    "pair_id", ["a", "bicubic/0", "sd/img1/3", "photo 1", "été", "x.y-z_w+v", "a" * 255]
)
def test_pair_ids_of_the_command_line_and_the_service(pair_id: str) -> None:
    assert pair_id_problem(pair_id) is None
    assert JobCreateOptions.model_validate({"pairs": [{"id": pair_id}]}).pairs


@pytest.mark.parametrize(
    "pair_id",
    ["", "../x", "x/..", "x/./y", "/x", "x/", "x//y", ".hidden", "a\\b", "a\nb", "a ", "a" * 256],
)
def test_pair_ids_refused(pair_id: str) -> None:
    assert pair_id_problem(pair_id) is not None
    with pytest.raises(ValidationError):
        JobCreateOptions.model_validate({"pairs": [{"id": pair_id}]})


def test_artifact_stems_are_safe_and_unique() -> None:
    ids = [("bicubic", "bicubic/photo 1"), ("bicubic", "bicubic/photo_1"), ("a+b", "x"),
           ("a_b", "x"), ("default", "img0"), ("sd", "sd/img0/0"), ("sd", "sd/img0/1")]  # fmt: skip
    stems = [artifact_stem(group, pair_id) for group, pair_id in ids]
    assert len(set(stems)) == len(stems)
    for stem in stems:
        assert validate_name(f"{stem}-error.png")  # the payload store's rule
    assert stems[0].startswith("bicubic_photo_1-")
    assert stems[4].startswith("default_img0-")
