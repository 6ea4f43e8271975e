"""Peak RSS of the patch moments of one RGB image pair, untiled vs in row bands (issue 15,
item 2).

For sides 1024, 2048 and 4096 each variant runs in a fresh subprocess (so peaks do not mix)
on the engine's stack of error, truth and restored images ``(3, 3, N, N)`` float32, p = 8,
stride 1, and prints the child's peak RSS (``ru_maxrss``) and wall time; ``--tile-rows`` sets
the band. Usage: python benchmarks/bench_tiled_memory.py [--tile-rows 256]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(side: int, tile_rows: int) -> None:
    import torch

    sys.path.insert(0, str(ROOT))
    from workers.estimators.patches import patch_moments, tiled_patch_moments

    images = torch.rand(3, 3, side, side, generator=torch.Generator().manual_seed(side))
    if tile_rows:
        tiled_patch_moments(images, 8, 1, tile_rows=tile_rows)
    else:
        patch_moments(images, 8, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile-rows", type=int, default=256)
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs (loaded VM), "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    for side in (1024, 2048, 4096):
        for tile in (0, args.tile_rows):
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, __file__, "--child", str(side), str(tile)])
            _, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"child {side} {tile} failed")
            label = f"bands of {tile} rows" if tile else "untiled"
            print(
                f"{side:>5} px  {label:18s}: peak RSS {usage.ru_maxrss / 1024:7.0f} MB  "
                f"wall {time.perf_counter() - start:6.1f} s"
            )


if __name__ == "__main__":
    main()
