"""What several benchmark scripts share: the machine line they print beside their figures,
and one measurement point run in a fresh interpreter.

Imported as ``benchmarks.common`` by scripts that put the repository root on ``sys.path``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def workload_parser(description: str | None, pairs: int) -> argparse.ArgumentParser:
    """An argument parser with the workload options of the in-process benchmarks: ``--pairs``
    generated crops of ``--size`` pixels (256 by default)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pairs", type=int, default=pairs)
    parser.add_argument("--size", type=int, default=256)
    return parser


def machine_line(with_torch: bool = True) -> str:
    """``machine: <platform>, <n> CPUs[, torch <version> (<n> threads)], load average ...``:
    where the figures below it came from (README figures say the machine)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    line = f"machine: {platform.platform()}, {os.cpu_count()} CPUs"
    if with_torch:
        import torch

        line += f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    return f"{line}, load average {load}"


def point_in_fresh_process(
    script: str, args: list[str], timeout: float, what: str = "point"
) -> Any:
    """Run ``script`` with ``args`` in a fresh interpreter (so its peak memory is its own)
    and return the JSON object its last stdout line prints; ``what`` names it on failure."""
    argv = [sys.executable, script, *args]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
