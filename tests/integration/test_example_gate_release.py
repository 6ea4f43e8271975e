"""examples/gate_release.py against the real service, and its committed client kept current.

The example runs as a pipeline would run it: a subprocess, folders of PNGs paired by file name,
the generated client committed in examples/client. A benign restorer (a slight blur) passes
with exit 0; one that invents texture (strong noise added to the truth, so the restored detail
is mostly unexplained by the true detail: invented-detail ratio >= 0.5, ``high`` per
``workers.estimators.risk``) fails the gate with exit 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.integration.stack import REPO, ApiServer, WorkerProcess
from tests.support.openapi_client import generate_client
from tests.support.sample_pairs import crops, degrade

EXAMPLE = REPO / "examples" / "gate_release.py"
CLIENT = REPO / "examples" / "client"
NAMES = ("harbour", "portrait", "street")
OPTIONS = {"knn_samples": 200, "bootstrap": {"resamples": 50}}


def _save(folder: Path, images: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        Image.fromarray(image).save(folder / f"{name}.png")
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gate")
    truths = dict(zip(NAMES, crops(len(NAMES), 64, seed=90), strict=True))
    rng = np.random.default_rng(91)
    invented = {
        name: np.clip(image + rng.normal(0, 40.0, image.shape), 0, 255).astype(np.uint8)
        for name, image in truths.items()
    }
    (root / "options.json").write_text(json.dumps(OPTIONS))
    return {
        "gt": _save(root / "gt", truths),
        "blurred": _save(root / "blurred", {n: degrade(i, "blur") for n, i in truths.items()}),
        "invented": _save(root / "invented", invented),
        "root": root,
    }


def _run(api: ApiServer, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RA_API_KEY"}
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--url", api.base_url, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
        check=False,
    )


def _assert_downloaded(output: Path, groups: set[str]) -> dict:
    report = json.loads((output / "report.json").read_text())
    assert {group["name"] for group in report["groups"]} == groups
    expected = set(report["plots"])
    for pair in report["pairs"]:
        expected |= {f"{pair['id']}-{kind}" for kind in pair["hallucination"]["maps"]}
    assert len(expected) > len(report["plots"]), "the pairs have heat maps"
    for name in expected:
        data = (output / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), name
    return report


def test_a_benign_restorer_passes_the_gate(
    api: ApiServer, worker: WorkerProcess, folders: dict[str, Path]
) -> None:
    output = folders["root"] / "out-benign"
    result = _run(
        api,
        "--ground-truth", folders["gt"], "--restored", f"blurred={folders['blurred']}",
        "--options", folders["root"] / "options.json", "--output", output,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = _assert_downloaded(output, {"blurred"})
    assert report["groups"][0]["risk"]["level"] != "high"
    assert "blurred" in result.stdout
    assert len(report["pairs"]) == len(NAMES)


def test_a_hallucinating_restorer_fails_the_gate(
    api: ApiServer, worker: WorkerProcess, folders: dict[str, Path]
) -> None:
    output = folders["root"] / "out-both"
    result = _run(
        api,
        "--ground-truth", folders["gt"],
        "--restored", f"blurred={folders['blurred']}",
        "--restored", f"invented={folders['invented']}",
        "--options", folders["root"] / "options.json", "--output", output,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    report = _assert_downloaded(output, {"blurred", "invented"})
    levels = {group["name"]: group["risk"]["level"] for group in report["groups"]}
    assert levels["invented"] == "high"
    assert levels["blurred"] != "high"
    assert "high hallucination risk: invented" in result.stderr


def test_usage_and_input_errors_have_their_exit_codes(
    api: ApiServer, folders: dict[str, Path]
) -> None:
    assert _run(api, "--ground-truth", folders["gt"]).returncode == 2
    unmatched = _save(folders["root"] / "unmatched", {"harbour": np.zeros((64, 64, 3), np.uint8)})
    result = _run(
        api, "--ground-truth", folders["gt"], "--restored", f"x={unmatched}",
        "--output", folders["root"] / "never",
    )  # fmt: skip
    assert result.returncode == 3
    assert "no match for portrait, street" in result.stderr
    assert not (folders["root"] / "never").exists()


def test_the_committed_client_matches_the_live_openapi_document(
    api: ApiServer, tmp_path: Path
) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_bytes(httpx.get(f"{api.base_url}/openapi.json", timeout=10).content)
    generated = tmp_path / "restoration_audit_client"
    result = generate_client(spec, generated, CLIENT / "openapi-python-client.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    committed = CLIENT / "restoration_audit_client"

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(path.relative_to(root)): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file() and not {".ruff_cache", "__pycache__"} & set(path.parts)
        }

    fresh, kept = files(generated), files(committed)
    stale = sorted(n for n in fresh.keys() | kept.keys() if fresh.get(n) != kept.get(n))
    assert not stale, f"examples/client is stale; run `make client` ({stale[:5]})"
