"""The rule for several outputs per input, shared by the API and the engine (docs/theory.md 3.9).

Pairs of one group that name a ``sample`` are outputs of a stochastic restorer: those with the
same ``input`` are K samples of it. The rule: in a group that has samples, every pair names
one; every input has at least two samples, with distinct indices; samples of one input agree
in size. The API applies it at submission (422 naming the pair), the engine to what it is
given (the command line builds its pairs itself), from this one function.

Without ground truth (docs/theory.md 3.9, the ground-truth-free mode) the rule is stricter,
:func:`ground_truth_free_problems`: every pair is a sample (there is no one-output audit to fall
back to), every input has its observation, the same for all its samples, and the degradation
is declared (the measurement residual needs ``H``). The API applies it at submission, the
worker to the manifest it reads, and :func:`sampled_inputs` groups the pairs into inputs for
both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from api_schemas.problems import ProblemError

GROUND_TRUTH_FREE: Final = (
    "without ground_truth parts a job is a ground-truth-free audit (docs/theory.md 3.9): "
    "several samples per input of each restorer, their observations and the degradation"
)
"""What a job without ground truth is, quoted by every refusal of the mode."""


@dataclass(frozen=True)
class SampleEntry:
    """What the rule needs of a pair: its id, group, input and sample, and its size."""

    id: str
    group: str
    input: str | None
    sample: int | None
    size: tuple[int, int] | None = None


@dataclass(frozen=True)
class SampleProblem:
    """A breach of the rule at ``position`` (index into the entries)."""

    position: int
    message: str


def input_name(entry: SampleEntry) -> str:
    """The input an entry's output was made from (its id when it names none)."""
    return entry.input if entry.input is not None else entry.id


def sample_problems(entries: Sequence[SampleEntry]) -> list[SampleProblem]:
    """Every breach of the rule, in entry order (empty when the pairs are fine).

    Example:
        >>> entries = [SampleEntry("a0", "g", "a", 0), SampleEntry("a1", "g", "a", 1),
        ...            SampleEntry("b0", "g", "b", 0)]
        >>> [p.position for p in sample_problems(entries)]
        [2]
        >>> sample_problems(entries[:2])
        []
    """
    problems: list[SampleProblem] = []
    groups = dict.fromkeys(e.group for e in entries)
    for group in groups:
        members = [(i, e) for i, e in enumerate(entries) if e.group == group]
        if all(e.sample is None for _, e in members):
            continue
        by_input: dict[str, list[tuple[int, SampleEntry]]] = {}
        for position, entry in members:
            if entry.sample is None:
                problems.append(
                    SampleProblem(
                        position,
                        f"group {group!r} mixes several samples per input with pair "
                        f"{entry.id!r}, which has no sample index: give every pair of a "
                        "sampled group its sample",
                    )
                )
                continue
            by_input.setdefault(input_name(entry), []).append((position, entry))
        for name, outputs in by_input.items():
            first = outputs[0][0]
            if len(outputs) < 2:
                problems.append(
                    SampleProblem(
                        first,
                        f"input {name!r} of group {group!r} has one sample while the group "
                        "has several per input: give every input at least two samples, or "
                        "audit it in another group",
                    )
                )
                continue
            indices = [e.sample for _, e in outputs]
            if len(set(indices)) != len(indices):
                problems.append(
                    SampleProblem(
                        first, f"input {name!r} of group {group!r} repeats a sample index"
                    )
                )
            sizes = {e.size for _, e in outputs if e.size is not None}
            if len(sizes) > 1:
                shown = ", ".join(f"{w}x{h}" for w, h in sorted(sizes))
                problems.append(
                    SampleProblem(
                        first,
                        f"the samples of input {name!r} of group {group!r} differ in size "
                        f"({shown}): all outputs of one input must have the same size",
                    )
                )
    return sorted(problems, key=lambda p: p.position)


def sampled_inputs(entries: Sequence[SampleEntry]) -> dict[tuple[str, str], list[int]]:
    """Positions of the entries by ``(group, input)``, in entry order: the inputs of a
    ground-truth-free audit and their samples.

    Example:
        >>> sampled_inputs([SampleEntry("a0", "g", "a", 0), SampleEntry("b0", "g", "b", 0),
        ...                 SampleEntry("a1", "g", "a", 1)])
        {('g', 'a'): [0, 2], ('g', 'b'): [1]}
    """
    inputs: dict[tuple[str, str], list[int]] = {}
    for position, entry in enumerate(entries):
        inputs.setdefault((entry.group, input_name(entry)), []).append(position)
    return inputs


def ground_truth_free_problems(
    entries: Sequence[SampleEntry],
    observations: Sequence[str | None],
    *,
    has_degradation: bool,
    pairs_part: str = "options.pairs",
) -> list[ProblemError]:
    """Why pairs without ground truth cannot be audited (empty when they can).

    Args:
        entries: the pairs (their id, group, input, sample and size), in part order.
        observations: per pair, a key of its observation (a digest of its bytes or a stored
            name: equal keys mean the same image) or ``None`` when it has none.
        has_degradation: whether the job declares its degradation.
        pairs_part: how problems name the list of pairs (``options.pairs``).

    Example:
        >>> entries = [SampleEntry("a0", "g", "a", 0), SampleEntry("a1", "g", "a", 1)]
        >>> ground_truth_free_problems(entries, ["x", "x"], has_degradation=True)
        []
        >>> [e.part for e in ground_truth_free_problems(entries, ["x", "y"],
        ...                                             has_degradation=False)]
        ['options.degradation', 'observation[1]']
    """
    errors: list[ProblemError] = []
    if not has_degradation:
        errors.append(
            ProblemError(
                part="options.degradation",
                message=f"{GROUND_TRUTH_FREE}: declare the degradation H that made the "
                "observations (the residual |H x_k - y|^2 is what can be checked without "
                "ground truth)",
            )
        )
    missing = [i for i, key in enumerate(observations) if key is None]
    if missing:
        errors.append(
            ProblemError(
                part="observation",
                message=f"{GROUND_TRUTH_FREE}: expected one observation part per restored "
                f"part ({len(entries)}), the observation of that sample's input; "
                f"{len(missing)} missing",
            )
        )
    unsampled = [i for i, e in enumerate(entries) if e.sample is None]
    if entries and len(unsampled) == len(entries):
        errors.append(
            ProblemError(
                part=pairs_part,
                message=f"{GROUND_TRUTH_FREE}: name each pair's input and sample index "
                '(e.g. {"id": "img1-s0", "group": "sd", "input": "img1", "sample": 0}), at '
                "least two samples per input",
            )
        )
    else:
        errors += [
            ProblemError(
                part=f"{pairs_part}[{position}]",
                message=f"{GROUND_TRUTH_FREE}: pair {entries[position].id!r} names no "
                "sample; give every pair its input and sample index",
            )
            for position in unsampled
        ]
    single = [
        (key, positions[0])
        for key, positions in sampled_inputs(entries).items()
        if len(positions) < 2 and entries[positions[0]].sample is not None
    ]
    errors += [
        ProblemError(
            part=f"{pairs_part}[{position}]",
            message=f"input {name!r} of group {group!r} has one sample: without ground truth "
            "only the spread of several samples of one input can be measured, so give it at "
            "least two",
        )
        for (group, name), position in single
    ]
    if not unsampled and not single:  # distinct indices, equal sizes
        errors += [
            ProblemError(part=f"{pairs_part}[{p.position}]", message=p.message)
            for p in sample_problems(entries)
        ]
    if not missing:
        for (group, name), positions in sampled_inputs(entries).items():
            first = positions[0]
            for position in positions[1:]:
                if observations[position] != observations[first]:
                    errors.append(
                        ProblemError(
                            part=f"observation[{position}]",
                            message=f"differs from observation[{first}]: the samples of input "
                            f"{name!r} of group {group!r} were made from one observation, so "
                            "send the same image with each of them",
                        )
                    )
    return errors
