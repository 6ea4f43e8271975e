import subprocess
import sys
from pathlib import Path

import pytest

import service


def test_public_surface_is_sorted_and_importable():
    assert service.__all__ == sorted(service.__all__)
    for name in service.__all__:
        assert hasattr(service, name)


def test_openapi_document_needs_no_configuration(monkeypatch):
    for name in ("RA_API_KEYS", "RA_LOCAL_MODE", "RA_HOST", "RA_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    assert service.openapi_document()["info"]["title"] == "restoration-audit"


@pytest.mark.integration  # starts a process
def test_service_never_imports_workers_or_torch():
    code = (
        "import sys, service.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('workers', 'torch')))"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"
