"""Where the full audit spends its CPU time: torch.profiler and cProfile on run_audit.

64 PNG pairs at 256 px (real photo crops, four restorers, seed 0) audited from files with
default options on the CPU after a warm-up. Prints the top torch operators by self CPU time
(torch.profiler, with the Python stacks that called them grouped by our module) and the top
Python functions by cumulative time (cProfile) of the same audit as the worker runs it, with an
ArtifactWriter (invented-detail maps and plots written to a temp dir).
Usage: python benchmarks/profile_audit.py [--pairs 64] [--top 15]
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_schemas import AuditOptions
from benchmarks.common import machine_line, workload_parser
from jobstore import PayloadStore, new_job_id
from tests.support.sample_pairs import crops, degrade
from workers.engine import PairSource, run_audit
from workers.engine.sources import ArtifactWriter

KINDS = ("noise", "blur", "jpeg", "sharpen")


def main() -> None:
    parser = workload_parser(__doc__, pairs=64)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="ra-profile-") as tmp:
        root = Path(tmp)
        pairs = []
        for i, gt in enumerate(crops(args.pairs, args.size, seed=0)):
            paths = []
            for name, image in (("gt", gt), ("restored", degrade(gt, KINDS[i % 4], seed=i))):
                path = root / f"{name}{i}.png"
                buffer = io.BytesIO()
                Image.fromarray(image).save(buffer, format="PNG")
                path.write_bytes(buffer.getvalue())
                paths.append(path)
            pairs.append(PairSource(f"p{i}", KINDS[i % 4], paths[0], paths[1]))
        options = AuditOptions()
        run_audit(pairs[:16], options, device="cpu")  # warm-up on a full batch's shapes

        start = time.perf_counter()
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            run_audit(pairs, options, device="cpu")
        print(
            f"\ntorch.profiler, {args.pairs} pairs at {args.size} px "
            f"({time.perf_counter() - start:.2f} s under the profiler), top by self CPU time:"
        )
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top))

        # Like the worker: plots as PNG, maps as pixels in a payload store (encoded on download).
        store, job_id = PayloadStore(root / "store"), new_job_id()

        def write_artifact(name: str, data: bytes) -> None:
            store.write_artifact(job_id, name, data)

        writer = ArtifactWriter(
            write=write_artifact,
            url_for=lambda name: name,
            write_pixels=lambda name, pixels: store.write_artifact_pixels(job_id, name, pixels),
        )
        run_audit(pairs[:16], options, device="cpu", artifacts=writer)  # warm-up: first figure
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        run_audit(pairs, options, device="cpu", artifacts=writer)
        profiler.disable()
        elapsed = time.perf_counter() - start
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(r"workers|torch/functional|numpy", args.top * 2)
        print(
            f"cProfile, with maps written like the worker ({elapsed:.2f} s under the profiler), "
            "top by cumulative time:"
        )
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-6000:])


if __name__ == "__main__":
    main()
