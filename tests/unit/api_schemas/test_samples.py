"""The ground-truth-free rule of ``api_schemas.samples`` (docs/theory.md 3.9), shared by the API
at submission and the worker on the manifest it reads."""

from __future__ import annotations

import pytest

from api_schemas.samples import (
    GROUND_TRUTH_FREE,
    SampleEntry,
    ground_truth_free_problems,
    sampled_inputs,
)


def _samples(inputs: dict[str, int], group: str = "sd") -> list[SampleEntry]:
    return [
        SampleEntry(f"{name}-{k}", group, name, k, (32, 32))
        for name, count in inputs.items()
        for k in range(count)
    ]


def _parts(entries: list[SampleEntry], observations: list[str | None], **kw: bool) -> dict:
    problems = ground_truth_free_problems(entries, observations, **kw)
    return {p.part: p.message for p in problems}


def test_two_inputs_of_two_samples_with_one_observation_each_pass() -> None:
    entries = _samples({"a": 2, "b": 3})
    keys = ["oa", "oa", "ob", "ob", "ob"]
    assert ground_truth_free_problems(entries, keys, has_degradation=True) == []
    assert sampled_inputs(entries) == {("sd", "a"): [0, 1], ("sd", "b"): [2, 3, 4]}


def test_no_degradation_is_named_with_the_mode() -> None:
    parts = _parts(_samples({"a": 2}), ["o", "o"], has_degradation=False)
    assert set(parts) == {"options.degradation"}
    assert parts["options.degradation"].startswith(GROUND_TRUTH_FREE)


def test_missing_observations_are_counted() -> None:
    parts = _parts(_samples({"a": 2}), ["o", None], has_degradation=True)
    assert set(parts) == {"observation"}
    assert "1 missing" in parts["observation"]


def test_samples_of_one_input_with_different_observations_name_the_odd_one() -> None:
    parts = _parts(_samples({"a": 3}), ["o", "o", "p"], has_degradation=True)
    assert set(parts) == {"observation[2]"}
    assert "differs from observation[0]" in parts["observation[2]"]


def test_pairs_without_any_sample_are_one_problem_on_the_list() -> None:
    entries = [SampleEntry(f"p{i}", "default", None, None) for i in range(3)]
    parts = _parts(entries, ["o", "o", "o"], has_degradation=True)
    assert set(parts) == {"options.pairs"}
    assert '"sample": 0' in parts["options.pairs"]


def test_a_pair_without_a_sample_among_samples_is_named() -> None:
    entries = [*_samples({"a": 2}), SampleEntry("c", "sd", "c", None)]
    parts = _parts(entries, ["o", "o", "q"], has_degradation=True)
    assert set(parts) == {"options.pairs[2]"}
    assert "names no sample" in parts["options.pairs[2]"]


@pytest.mark.parametrize("others", [{}, {"b": 2}], ids=["every input single", "one single"])
def test_an_input_with_one_sample_is_refused_whatever_the_others(others: dict) -> None:
    entries = _samples({"a": 1, **others})
    keys = ["oa"] + ["ob"] * sum(others.values())
    parts = _parts(entries, keys, has_degradation=True)
    assert set(parts) == {"options.pairs[0]"}
    assert "input 'a' of group 'sd' has one sample" in parts["options.pairs[0]"]


def test_sizes_and_repeated_indices_follow_the_samples_rule() -> None:
    entries = [
        SampleEntry("a0", "sd", "a", 0, (32, 32)),
        SampleEntry("a1", "sd", "a", 1, (32, 36)),
        SampleEntry("b0", "sd", "b", 0, (32, 32)),
        SampleEntry("b1", "sd", "b", 0, (32, 32)),
    ]
    problems = ground_truth_free_problems(entries, ["o", "o", "p", "p"], has_degradation=True)
    messages = {p.part: p.message for p in problems}
    assert "differ in size" in messages["options.pairs[0]"]
    assert "repeats a sample index" in messages["options.pairs[2]"]
