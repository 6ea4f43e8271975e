"""The checkout and its packaging, as a new user meets them: the README's outputs stay out of
git, and installing raises no setuptools deprecation warning (PEP 639 licence metadata)."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_license_is_an_spdx_expression_with_its_file() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    # The table form ({text = ...}) makes setuptools >= 77 warn on every install.
    assert project["project"]["license"] == "Apache-2.0"
    assert project["project"]["license-files"] == ["LICENSE"]
    assert "Apache License" in (REPO / "LICENSE").read_text()
    assert any(req.startswith("setuptools>=77") for req in project["build-system"]["requires"])


@pytest.mark.integration  # starts a process (git)
@pytest.mark.parametrize(
    "path",
    ["demo/gt/0.png", "maps/up_plane.png", "report.json", "report.html", "openapi.json",
     "ra_client/__init__.py", "audit-out/report.json", "tools/openapi/node_modules/x.js"],
)  # fmt: skip
def test_the_readme_outputs_are_ignored_by_git(path: str) -> None:
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", path], cwd=REPO, check=False
    )
    assert result.returncode == 0, f"{path} is not in .gitignore"


@pytest.mark.parametrize("readme", ["README.md", "benchmarks/README.md"])
def test_the_readmes_speak_of_the_project_only(readme: str) -> None:
    """Figures are the project's, with their scripts and machines, not a work session's."""
    text = (REPO / readme).read_text()
    assert not re.findall(r"(?i)\bsessions?\b", text)
