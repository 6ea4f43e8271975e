"""The rule for several outputs per input, shared by the API and the engine (docs/theory.md 3.9).

Pairs of one group that name a ``sample`` are outputs of a stochastic restorer: those with the
same ``input`` are K samples of it. The rule: in a group that has samples, every pair names
one; every input has at least two samples, with distinct indices; samples of one input agree
in size. The API applies it at submission (422 naming the pair), the engine to what it is
given (the command line builds its pairs itself), from this one function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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
