"""Shared test fixtures: reference vectors and real photographs shipped by scikit-image."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REFERENCE_VECTORS = Path(__file__).resolve().parents[2] / "shared" / "reference" / "theory_vectors.json"
LOCAL_VECTORS = Path(__file__).resolve().parent / "data" / "theory_vectors.json"


@pytest.fixture(scope="session")
def theory_vectors() -> list[dict[str, Any]]:
    """The verified reference values (a copy lives in tests/data so a clean clone has them)."""
    path = LOCAL_VECTORS if LOCAL_VECTORS.exists() else REFERENCE_VECTORS
    return json.loads(path.read_text())


pytest_plugins = ["tests.fixtures.plugin"]
