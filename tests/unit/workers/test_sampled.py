"""A ground-truth-free job's inputs from its manifest (workers/tasks/sampled.py): grouped by
restorer and input, samples in index order, and a manifest breaking the shared rule refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from api_schemas import AuditOptions
from api_schemas.jobs import JobManifest, ManifestPair
from workers.errors import AuditInputError
from workers.tasks.sampled import ground_truth_free_inputs

NOISE = {"type": "noise", "sigma": 0.05}


def _manifest(pairs: list[ManifestPair], degradation: object = NOISE) -> JobManifest:
    return JobManifest(
        job_id="j",
        tenant="t",
        created_at=datetime.now(UTC),
        options=AuditOptions(degradation=degradation),
        pairs=pairs,
    )


def _pair(input_name: str, sample: int, observation: str | None) -> ManifestPair:
    return ManifestPair(
        id=f"{input_name}-{sample}",
        group="sd",
        restored=f"{input_name}-{sample}.png",
        observation=observation,
        input=input_name,
        sample=sample,
    )


def test_inputs_are_grouped_with_samples_in_index_order(tmp_path: Path) -> None:
    for name, data in (("oa-0", b"A"), ("oa-1", b"A"), ("ob-0", b"B"), ("ob-1", b"B")):
        (tmp_path / name).write_bytes(data)
    pairs = [_pair("a", 1, "oa-0"), _pair("b", 0, "ob-0"), _pair("a", 0, "oa-1")]
    pairs.append(_pair("b", 1, "ob-1"))
    inputs = ground_truth_free_inputs(_manifest(pairs), tmp_path)
    assert [(i.group, i.input) for i in inputs] == [("sd", "a"), ("sd", "b")]
    assert inputs[0].samples == [tmp_path / "a-0.png", tmp_path / "a-1.png"]
    assert inputs[0].observation == tmp_path / "oa-1"  # the first sample's; all are equal


def test_observations_that_differ_fail_the_job_naming_the_part(tmp_path: Path) -> None:
    (tmp_path / "o0").write_bytes(b"A")
    (tmp_path / "o1").write_bytes(b"B")
    manifest = _manifest([_pair("a", 0, "o0"), _pair("a", 1, "o1")])
    with pytest.raises(AuditInputError, match="differs from observation") as error:
        ground_truth_free_inputs(manifest, tmp_path)
    assert error.value.part == "observation[1]"


def test_a_missing_observation_file_fails_the_job(tmp_path: Path) -> None:
    (tmp_path / "o0").write_bytes(b"A")
    manifest = _manifest([_pair("a", 0, "o0"), _pair("a", 1, "gone")])
    with pytest.raises(AuditInputError, match="1 missing"):
        ground_truth_free_inputs(manifest, tmp_path)


def test_a_manifest_mixing_pairs_with_and_without_ground_truth_is_invalid() -> None:
    with_truth = ManifestPair(id="x", ground_truth="g.png", restored="r.png")
    with pytest.raises(ValidationError, match="every pair or for none"):
        _manifest([_pair("a", 0, "o"), with_truth])
    assert not _manifest([with_truth]).ground_truth_free
