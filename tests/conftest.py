"""Shared test fixtures: reference vectors and real photographs shipped by scikit-image."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# A copy of the project's verified reference values (shared/reference/theory_vectors.json),
# kept in the repository so that a clean clone tests against them.
VECTORS = Path(__file__).resolve().parent / "data" / "theory_vectors.json"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _hypothesis_profile() -> dict[str, Any]:
    """pyproject's [tool.hypothesis] as settings; TOML has no null, so false means None."""
    table = tomllib.loads(PYPROJECT.read_text())["tool"]["hypothesis"]
    return {key: None if value is False else value for key, value in table.items()}


hypothesis_settings.register_profile("project", **_hypothesis_profile())
hypothesis_settings.load_profile("project")


@pytest.fixture(scope="session")
def theory_vectors() -> list[dict[str, Any]]:
    """The verified reference values of docs/theory.md's quantities (name, inputs, expected)."""
    return json.loads(VECTORS.read_text())


pytest_plugins = ["tests.fixtures.plugin"]


# Fixtures that start (or need) a real process: a test using any of them is an integration test.
_PROCESS_FIXTURES = frozenset({"redis_server", "redis_client", "own_redis"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that starts a process ``integration``, so ``-m "not integration"``
    runs in-process tests only; tests that spawn a subprocess themselves carry the marker."""
    for item in items:
        if _PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
