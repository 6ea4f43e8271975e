"""Per-pair overhead of the S3 payload store against the local directory, as a ratio.

The same stack as ``bench_scaling.py`` (Redis, one uvicorn, one CPU-pinned worker) runs the
same jobs twice per round, once on each backend: a local directory, and S3-compatible object
storage served by moto in server mode on loopback (``tests/fixtures/s3_server.py``; what MinIO
or S3 over a network add on top is latency this does not measure). Rounds alternate the
backends so that a change in the machine's load touches both. Figures: seconds per pair from
the first submission to the last job finished (as a client sees it) and of the worker's run
(from the job records), each backend's median over the rounds, and S3 / local.

``--curve`` adds the scaling curve of ``bench_scaling.py`` (1, 2 and 4 workers) on the S3
backend.

Not part of the test run: ``python benchmarks/bench_storage.py`` (a few minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.bench_scaling import OPTIONS, add_stack_arguments, measure, table  # noqa: E402
from benchmarks.load_test import machine  # noqa: E402
from tests.fixtures.s3_server import S3Server  # noqa: E402
from tests.integration.stack import multipart, sample_pairs  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=2)
    add_stack_arguments(parser, jobs=8, jobs_help="jobs per run", settle=2.0)
    parser.add_argument("--curve", action="store_true", help="also 1, 2, 4 workers on S3")
    args = parser.parse_args()

    files: list[object] = list(multipart(sample_pairs(args.pairs, args.size, seed=2026)))
    n_pairs = args.jobs * args.pairs
    wall: dict[str, list[float]] = {"local": [], "s3": []}
    run: dict[str, list[float]] = {"local": [], "s3": []}
    ok = True
    with S3Server() as server:
        os.environ.update(server.env())  # the stacks inherit the AWS_* variables
        s3_url = os.environ.pop("RA_STORAGE_URL")
        for round_ in range(args.rounds):
            for backend, url in (("local", None), ("s3", s3_url)):
                args.storage_url = url
                point = measure(args, 1, files)
                ok &= point.succeeded == point.jobs
                wall[backend].append(point.wall_s / n_pairs)
                run[backend].append(sum(point.run_s) / n_pairs)
                print(
                    f"round {round_ + 1} {backend:5}: {wall[backend][-1] * 1000:.1f} ms/pair "
                    f"end to end, {run[backend][-1] * 1000:.1f} ms/pair on the worker "
                    f"(load {point.load_before[0]:.2f} -> {point.load_after[0]:.2f})",
                    flush=True,
                )
        curve = []
        if args.curve:
            args.storage_url = s3_url
            curve = [measure(args, workers, files) for workers in (1, 2, 4)]
    host = machine()
    print()
    print(
        f"bench_storage.py: {args.rounds} rounds of {args.jobs} jobs of {args.pairs} pairs of "
        f"{args.size}x{args.size} RGB per backend, options {OPTIONS}, one pinned worker, "
        "S3 = moto server on loopback"
    )
    with contextlib.suppress(KeyError):
        print(f"machine: {host['cpu']}, {host['cores']} CPUs, {host['memory']}, {host['os']}")
    print(f"run at {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print()
    print("| backend | ms/pair end to end | ms/pair on the worker |")
    print("|---|---|---|")
    for backend in ("local", "s3"):
        print(
            f"| {backend} | {statistics.median(wall[backend]) * 1000:.1f} "
            f"| {statistics.median(run[backend]) * 1000:.1f} |"
        )
    ratio_wall = statistics.median(wall["s3"]) / statistics.median(wall["local"])
    ratio_run = statistics.median(run["s3"]) / statistics.median(run["local"])
    print(f"| S3 / local | {ratio_wall:.2f} | {ratio_run:.2f} |")
    if curve:
        print()
        args.storage_url = s3_url
        print(table(curve, args))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
