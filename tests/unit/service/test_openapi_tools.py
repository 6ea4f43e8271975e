"""The OpenAPI document against standard npm tools, pinned in tools/openapi/package-lock.json.

- Redocly CLI lints it with its recommended rules (tools/openapi/redocly.yaml): no error and no
  warning (servers, security of every operation, licence, ...).
- openapi-typescript generates TypeScript types from it and ``tsc --noEmit`` type-checks a small
  submit/poll/report program written against them with openapi-fetch
  (tools/openapi/typecheck/submit_poll_report.ts); the ``options`` part is a typed object there.

The tools come from the lock file (``npm ci``, run here when tools/openapi/node_modules is
missing or older than the lock file, as ``make openapi-tools`` does). Without node and npm the
tests fail on purpose, naming the fix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from service.main import openapi_document

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
TOOLS = REPO / "tools" / "openapi"
BIN = TOOLS / "node_modules" / ".bin"


@pytest.fixture(scope="module")
def tools() -> Path:
    """tools/openapi with its node_modules installed from the lock file."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail("node and npm are needed (Debian: apt-get install nodejs npm)")
    installed = TOOLS / "node_modules" / ".package-lock.json"
    lock = TOOLS / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=TOOLS,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    return TOOLS


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    path.write_text(json.dumps(openapi_document(), indent=2))
    return path


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, NO_COLOR="1", REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true"
    )
    return subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, env=env, check=False, timeout=300
    )


@pytest.mark.integration  # starts a process (npm tools)
def test_redocly_lints_the_document_clean(tools: Path, document: Path) -> None:
    result = _run(
        [str(BIN / "redocly"), "lint", "--config", str(tools / "redocly.yaml"),
         "--format", "stylish", "--max-problems", "1000", str(document)],
        cwd=tools,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert " error " not in output, output
    assert " warning " not in output, output


def test_every_v1_operation_documents_its_client_errors() -> None:
    # redocly.yaml turns operation-4xx-response off for the sake of the probes; /v1 keeps it.
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            if path.startswith("/v1/"):
                statuses = [s for s in operation["responses"] if s.startswith("4")]
                assert statuses, f"{method.upper()} {path} documents no 4xx answer"


def _typecheck(
    tools: Path, document: Path, directory: Path, program: str
) -> subprocess.CompletedProcess[str]:
    """Generate schema.d.ts from ``document`` into ``directory`` and type-check ``program``."""
    (directory / "submit_poll_report.ts").write_text(program)
    shutil.copy(tools / "typecheck" / "tsconfig.json", directory / "tsconfig.json")
    (directory / "node_modules").symlink_to(tools / "node_modules", target_is_directory=True)
    generated = _run(
        [str(BIN / "openapi-typescript"), str(document), "--default-non-nullable", "false",
         "--output", str(directory / "schema.d.ts")],
        cwd=directory,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    # The options part is the published model, not an untyped string.
    schema = (directory / "schema.d.ts").read_text()
    assert 'options?: components["schemas"]["JobCreateOptions"];' in schema
    return _run([str(BIN / "tsc"), "--noEmit", "-p", "tsconfig.json"], cwd=directory)


PROGRAM = TOOLS / "typecheck" / "submit_poll_report.ts"


@pytest.mark.integration  # starts a process (npm tools)
def test_a_typescript_client_type_checks(tools: Path, document: Path, tmp_path: Path) -> None:
    checked = _typecheck(tools, document, tmp_path, PROGRAM.read_text())
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.integration  # starts a process (npm tools)
def test_the_type_check_catches_a_wrong_option(tools: Path, document: Path, tmp_path: Path) -> None:
    """The type check has teeth: a misspelt colour mode in the options does not compile."""
    program = PROGRAM.read_text()
    assert 'color: "y",' in program
    checked = _typecheck(tools, document, tmp_path, program.replace('color: "y",', 'color: "yuv",'))
    assert checked.returncode != 0
    assert '"yuv"' in checked.stdout, checked.stdout
