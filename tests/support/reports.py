"""Two audit reports compared leaf by leaf: equal to rounding where they must be (the banded
patch statistics of docs/theory.md 3.3 give the untiled report up to float64 summation order)."""

from __future__ import annotations

import math

import pytest
from pydantic import BaseModel


def report_leaves(tree: object, path: str = "") -> dict[str, object]:
    """Every leaf of a dumped report (numbers, strings, flags, nulls) by its path."""
    if isinstance(tree, dict | list):
        items = tree.items() if isinstance(tree, dict) else enumerate(tree)
        found: dict[str, object] = {}
        for key, value in items:
            found.update(report_leaves(value, f"{path}/{key}"))
        return found
    return {path: tree}


def assert_same_report(
    expected: BaseModel, got: BaseModel, *, rel: float = 1e-9, min_numbers: int = 20
) -> None:
    """Every number of ``got`` equals ``expected``'s to ``rel`` (NaN to NaN) and every other leaf
    (risk levels, flags, nulls) is identical; ``meta`` (timings, versions) is left out. At least
    ``min_numbers`` numbers are compared, so an empty report cannot pass."""
    whole = report_leaves(expected.model_dump(exclude={"meta"}))
    leaves = report_leaves(got.model_dump(exclude={"meta"}))
    assert leaves.keys() == whole.keys()
    numbers = [path for path, value in whole.items() if isinstance(value, float)]
    assert len(numbers) >= min_numbers  # the report's estimates, not an empty comparison
    for path, value in whole.items():
        other = leaves[path]
        if isinstance(value, float) and isinstance(other, float):
            assert (math.isnan(other) and math.isnan(value)) or other == pytest.approx(
                value, rel=rel, abs=1e-12
            ), path
        else:
            assert other == value, path
