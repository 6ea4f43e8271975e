"""Generate a Python client from an OpenAPI document with openapi-python-client, as users do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def generate_client(
    spec: Path, output: Path, config: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``openapi-python-client generate`` on ``spec`` into ``output``; returns the run.

    The generator is the one installed beside this interpreter (the test extra), and runs its
    ruff post-hooks from the same environment.
    """
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    argv = [
        str(bin_dir / "openapi-python-client"), "generate", "--path", str(spec),
        "--meta", "none", "--output-path", str(output),
    ]  # fmt: skip
    if config is not None:
        argv += ["--config", str(config)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=120)
