"""Shared test fixtures: reference vectors and real photographs shipped by scikit-image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# A copy of the project's verified reference values (shared/reference/theory_vectors.json),
# kept in the repository so that a clean clone tests against them.
VECTORS = Path(__file__).resolve().parent / "data" / "theory_vectors.json"


@pytest.fixture(scope="session")
def theory_vectors() -> list[dict[str, Any]]:
    """The verified reference values of docs/theory.md's quantities (name, inputs, expected)."""
    return json.loads(VECTORS.read_text())


pytest_plugins = ["tests.fixtures.plugin"]
