"""The README's first commands, run as a new user runs them after the README's set-up.

- ``make demo`` (the Makefile's recipe: the venv's python on examples/make_demo_pairs.py),
- the audit command of "The command line", whose printed summary must be the one the README
  quotes (every figure in the README is printed by the repo),
- the generated-client snippet of "The service": ``restoration-audit openapi``,
  ``openapi-python-client generate`` and the Python lines, against a real API and worker.

Commands are taken from README.md and the Makefile, not copied here, so the README cannot
drift from what works. ``restoration-audit`` and ``.venv/bin/`` resolve to this interpreter's
environment, as ``. .venv/bin/activate`` makes them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.stack import ApiServer, WorkerProcess
from tests.support.console import console_argv

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
BIN = Path(sys.executable).parent


def _block_after(marker: str, language: str) -> str:
    """The first fenced ``language`` block after ``marker`` in the README."""
    start = README.index(marker)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(README, start)
    assert match is not None, f"no ```{language} block after {marker!r}"
    return match.group(1)


def _commands(block: str) -> list[str]:
    """Shell lines of a block: continuations joined, comments dropped."""
    joined = block.replace("\\\n", " ")
    lines = [line.split("#", 1)[0].strip() for line in joined.splitlines()]
    return [line for line in lines if line]


def _argv(command: str) -> list[str]:
    argv = shlex.split(command)
    tool = argv[0].removeprefix(".venv/bin/")
    if tool == "python":
        return [sys.executable, *argv[1:]]
    if tool == "restoration-audit":
        return [*console_argv(), *argv[1:]]
    return [str(BIN / tool), *argv[1:]]


def _env() -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv, stdout = command, None
    if ">" in shlex.split(command):
        argv, target = command.split(">", 1)
        stdout = cwd / target.strip()
    with open(stdout, "w") if stdout else open(os.devnull, "w") as sink:
        result = subprocess.run(
            _argv(argv),
            cwd=cwd,
            env=_env(),
            stdout=subprocess.PIPE if stdout is None else sink,
            stderr=subprocess.PIPE,
            text=True,
            timeout=600,
            check=False,
        )
    assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"
    return result


def _make_recipe(target: str) -> list[str]:
    """The commands of a Makefile target, ``$(BIN)/`` read as ``.venv/bin/``."""
    makefile = (REPO / "Makefile").read_text()
    match = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert match is not None, f"no make target {target}"
    return [line.strip().replace("$(BIN)/", ".venv/bin/") for line in match.group(1).splitlines()]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory where ``make demo`` has run (the README's first command)."""
    root = tmp_path_factory.mktemp("readme")
    first = _commands(_block_after("## The command line", "sh"))[0]
    assert first == "make demo"
    for command in _make_recipe("demo"):
        _run(command.replace("examples/", f"{REPO}/examples/"), root)
    assert sorted(p.name for p in (root / "demo").iterdir()) == ["bicubic", "gt", "lr", "sharpened"]
    return root


def test_the_setup_activates_the_venv_before_any_command() -> None:
    setup = _commands(_block_after("The commands below run in that virtual environment", "sh"))
    assert setup == [". .venv/bin/activate", "make demo"]
    # make demo installs what the generator needs (the examples extra) before running it.
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo: install-examples$", makefile, re.M)
    assert _make_recipe("install-examples") == ['.venv/bin/pip install -q -e ".[examples]"']
    assert _make_recipe("demo") == [".venv/bin/python examples/make_demo_pairs.py demo"]


def test_the_readme_audit_prints_the_summary_it_quotes(workdir: Path) -> None:
    audit = _commands(_block_after("## The command line", "sh"))[1]
    assert audit.startswith("restoration-audit audit ")
    printed = _run(audit, workdir).stdout
    quoted = _block_after("The summary printed by that command", "")
    assert printed.splitlines()[: len(quoted.splitlines())] == quoted.splitlines()
    assert (workdir / "report.json").is_file()
    maps = sorted(p.name for p in (workdir / "maps").iterdir())
    assert "up_plane.png" in maps
    assert any(name.startswith("bicubic_0-") for name in maps), maps


def test_the_readme_client_snippet_runs(
    workdir: Path, api: ApiServer, worker: WorkerProcess
) -> None:
    start = "A Python client generated from the live OpenAPI document"
    for command in _commands(_block_after(start, "sh")):
        _run(command, workdir)
    snippet = _block_after(start, "python").replace("http://127.0.0.1:8000", api.base_url)
    script = workdir / "snippet.py"
    script.write_text(snippet + "\nprint(state, [group.name for group in report.groups])\n")
    result = _run(f"python {script}", workdir)
    assert result.stdout.strip() == "succeeded ['bicubic']"
