"""The layering contract (pyproject's import-linter contracts and ruff's banned APIs) holds, and
fails on a probe that breaks it: a layering rule that cannot fail protects nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = (
    "api_schemas",
    "jobstore",
    "observability",
    "reporting",
    "service",
    "workers",
    "runtime",
    "cli",
)
BIN = Path(sys.executable).parent


def _copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "lint-imports"), "--no-logo", "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.integration  # starts a process
def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint_imports(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.integration  # starts a process
@pytest.mark.parametrize(
    ("package", "probe", "broken"),
    [
        ("workers", "import service.settings", "workers._probe -> service.settings"),
        ("service", "import workers.engine", "service._probe -> workers.engine"),
        ("jobstore", "import observability.logs", "jobstore._probe -> observability.logs"),
        ("reporting", "import workers.plots", "reporting._probe -> workers.plots"),
        (
            "workers/estimators",
            "import api_schemas.options",
            "workers.estimators._probe -> api_schemas.options",
        ),
        ("workers/engine", "import redis", "workers.engine._probe -> redis"),
        ("workers", "import fastapi", "workers._probe -> fastapi"),
    ],
)
def test_a_probe_import_breaks_the_contract(
    tmp_path: Path, package: str, probe: str, broken: str
) -> None:
    root = _copy(tmp_path)
    (root / package / "_probe.py").write_text(probe + "\n")
    result = _lint_imports(root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert broken in result.stdout


@pytest.mark.integration  # starts a process
def test_ruff_bans_fastapi_outside_service(tmp_path: Path) -> None:
    probe = tmp_path / "workers" / "_probe.py"
    probe.parent.mkdir()
    probe.write_text("import fastapi\n\nprint(fastapi)\n")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "--no-cache", "--select", "TID", str(probe)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "TID251 `fastapi` is banned: only service/ may import FastAPI" in result.stdout
