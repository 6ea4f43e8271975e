"""The inputs of a ground-truth-free job (docs/theory.md 3.9) from its manifest.

The API stored one restored part per sample and, with each, its input's observation; the
worker groups them back into inputs by the rule the API applied (``api_schemas.samples``),
checked again on the files it reads, so a manifest the API did not write fails the job with a
problem naming the pair instead of auditing something else.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from api_schemas.jobs import JobManifest
from api_schemas.samples import SampleEntry, ground_truth_free_problems, sampled_inputs
from workers.engine.gtfree import SampledInput
from workers.errors import AuditInputError


def ground_truth_free_inputs(manifest: JobManifest, input_dir: Path) -> list[SampledInput]:
    """The inputs of a ground-truth-free job (docs/theory.md 3.9): its pairs grouped by
    restorer and input, each with its observation, by the rule the API applied at submission
    (``api_schemas.samples``), checked again on what the worker reads.

    Raises:
        AuditInputError: the pairs break the rule (a manifest the API did not write).
    """
    pairs = manifest.pairs
    entries = [SampleEntry(p.id, p.group, p.input, p.sample) for p in pairs]
    keys = [
        None if p.observation is None else _file_digest(input_dir / p.observation) for p in pairs
    ]
    problems = ground_truth_free_problems(
        entries, keys, has_degradation=manifest.options.degradation is not None
    )
    if problems:
        raise AuditInputError(problems[0].message, part=problems[0].part)
    inputs = []
    for (group, name), positions in sampled_inputs(entries).items():
        ordered = sorted(positions, key=lambda i: pairs[i].sample or 0)
        observation = pairs[ordered[0]].observation
        inputs.append(
            SampledInput(
                group,
                name,
                [input_dir / pairs[i].restored for i in ordered],
                None if observation is None else input_dir / observation,
            )
        )
    return inputs


def _file_digest(path: Path) -> str | None:
    """SHA-256 of a stored input, ``None`` when it is missing (the rule then names it)."""
    try:
        with path.open("rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except OSError:
        return None
