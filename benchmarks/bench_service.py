"""Service overhead: the real HTTP API + Redis + one Celery worker against in-process run_audit.

The same 64 real 256x256 RGB pairs, as PNG files, are audited four ways, interleaved so
that machine load hits all alike: (a) ``run_audit`` in this process with default options
and an ArtifactWriter that keeps the maps' pixels and the plots in a payload store, exactly
the output the worker makes; (b) the service with default options: POST /v1/jobs
(multipart), poll GET /v1/jobs/{id}, GET the report, against a real redis-server, one real
Celery worker process (prefork, concurrency 1) and uvicorn on 127.0.0.1; (c) in-process
with ``{"maps": false}`` (no artifacts: what a library user runs) and (d) the service with
the same options. The service ratios compare like with like, (b)/(a) and (d)/(c). The job
record's created/started/finished times split the service's wall time into upload, queue
wait, audit and poll/report. CPU seconds per job (this process for in-process; worker pool
child, celery main, uvicorn, redis-server from /proc, plus this client for the service) are
printed too; they move less with load than wall time, but still move (torch's OpenMP threads
spin while waiting for a core). The client polls every 100 ms, more often than the
service's Retry-After asks (so polling adds at most 0.1 s to a job's wall time); uvicorn's
CPU per job is mostly those polls. After the repeats, every map of the last job is
downloaded once, and the time of those first downloads (PNG encoding in the API) is printed.

Target (performance issue): service >= 85 % of in-process pairs/s.
Usage: python benchmarks/bench_service.py [--pairs 64] [--size 256] [--repeats 4]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api_schemas import AuditOptions
from benchmarks.common import machine_line, workload_parser
from jobstore import PayloadStore, new_job_id
from tests.fixtures.redis_server import RedisServer
from tests.integration.stack import (
    ApiServer,
    WorkerProcess,
    group_pids,
    sample_pairs,
    stack_environment,
    submit,
)
from workers.engine import PairSource, run_audit
from workers.engine.sources import ArtifactWriter

POLL_SECONDS = 0.1
RUNS = {
    "in_maps": "in-process, maps' pixels + plots to a payload store",
    "svc_maps": "service, default options (maps and plots)",
    "in_plain": 'in-process, {"maps": false}',
    "svc_plain": 'service, {"maps": false}',
}
JOB_TIMEOUT = 120.0


def write_pairs(root: Path, pairs: list[tuple[bytes, bytes]]) -> list[PairSource]:
    sources = []
    for i, (gt, restored) in enumerate(pairs):
        gt_path, restored_path = root / f"gt{i}.png", root / f"restored{i}.png"
        gt_path.write_bytes(gt)
        restored_path.write_bytes(restored)
        sources.append(PairSource(f"p{i}", "default", gt_path, restored_path))
    return sources


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by ``pids`` (from /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def self_cpu() -> float:
    """CPU seconds of this process (all its threads)."""
    return time.process_time()


def stamp(value: str | None) -> float:
    if value is None:
        raise AssertionError("job record without a timestamp")
    return datetime.fromisoformat(value).timestamp()


def service_run(
    client: httpx.Client,
    pairs: list[tuple[bytes, bytes]],
    roles: dict[str, list[int]],
    options: dict[str, object] | None = None,
) -> tuple[dict[str, float], str]:
    """Submit, poll, fetch the report; wall time, its parts and CPU seconds of the servers."""
    cpu0 = {role: cpu_seconds(pids) for role, pids in roles.items()}
    client0 = self_cpu()
    t0 = time.time()
    response = submit(client, pairs, options)
    t_posted = time.time()
    if response.status_code != 202:
        raise RuntimeError(f"submit answered {response.status_code}: {response.text[:500]}")
    job_id = response.json()["id"]
    deadline = time.monotonic() + JOB_TIMEOUT
    polls = 0
    while True:
        job = client.get(f"/v1/jobs/{job_id}").json()
        polls += 1
        if job["state"] in ("succeeded", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} still {job['state']} after {JOB_TIMEOUT} s")
        time.sleep(POLL_SECONDS)
    t_seen = time.time()
    if job["state"] != "succeeded":
        raise RuntimeError(f"job {job_id} {job['state']}: {job.get('error')}")
    report = client.get(f"/v1/jobs/{job_id}/report")
    report.raise_for_status()
    t_end = time.time()
    client_cpu = self_cpu() - client0
    by_role = {f"cpu_{role}": cpu_seconds(pids) - cpu0[role] for role, pids in roles.items()}
    created, started, finished = (stamp(job[f"{k}_at"]) for k in ("created", "started", "finished"))
    stats = {
        "wall": t_end - t0,
        "upload": created - t0,  # request sent, inputs stored and validated, record created
        "post_tail": t_posted - created,  # queueing the task, answering 202
        "queue": started - created,  # until the worker took the job
        "audit": finished - started,  # decode + audit + maps + report written, in the worker
        "poll": t_seen - finished,  # until the client saw the final state
        "report": t_end - t_seen,  # GET of the report
        "cpu": sum(by_role.values()),  # worker (main + pool child), uvicorn and redis-server
        **by_role,
        "client_cpu": client_cpu,  # this process: encoding the upload, polling
        "polls": polls,
        "report_bytes": len(report.content),
    }
    return stats, job_id


def fetch_maps(client: httpx.Client, job_id: str) -> tuple[int, float, int]:
    """Download every map of a finished job once: (count, seconds, bytes)."""
    report = client.get(f"/v1/jobs/{job_id}/report").json()
    links = [url for pair in report["pairs"] for url in pair["hallucination"]["maps"].values()]
    started, size = time.perf_counter(), 0
    for url in links:
        response = client.get(url)
        response.raise_for_status()
        size += len(response.content)
    return len(links), time.perf_counter() - started, size


def main() -> None:
    parser = workload_parser(__doc__, pairs=64)
    parser.add_argument("--repeats", type=int, default=4)
    args = parser.parse_args()

    started = time.monotonic()
    pairs = sample_pairs(args.pairs, args.size, seed=0)
    options = AuditOptions()
    no_maps = AuditOptions(maps=False)
    with tempfile.TemporaryDirectory(prefix="ra-bench-service-") as tmp:
        root = Path(tmp)
        for name in ("inputs", "data", "logs", "store"):
            (root / name).mkdir()
        sources = write_pairs(root / "inputs", pairs)
        # What the worker does with the same output: maps' pixels and plots into a payload
        # store (encoded on download), in this process.
        store, store_job = PayloadStore(root / "store"), new_job_id()

        def write_artifact(name: str, data: bytes) -> None:
            store.write_artifact(store_job, name, data)

        writer = ArtifactWriter(
            write=write_artifact,
            url_for=lambda name: f"/v1/jobs/{store_job}/artifacts/{name}",
            write_pixels=lambda name, pixels: store.write_artifact_pixels(store_job, name, pixels),
        )

        with RedisServer(root / "redis") as redis_server:
            env = stack_environment(redis_server.url, root / "data")
            worker = WorkerProcess(env, root / "logs")
            api = ApiServer(env, root / "logs" / "api.log")
            try:
                worker.start(timeout=90.0)
                api.start(timeout=60.0)
                print(f"stack up in {time.monotonic() - started:.1f} s (redis, worker, uvicorn)")
                with httpx.Client(base_url=api.base_url, timeout=60.0) as client:
                    roles = {
                        "pool": [p for p in group_pids(worker.pid) if p != worker.pid],
                        "celery": [worker.pid],
                        "uvicorn": group_pids(api.popen.pid),  # type: ignore[union-attr]
                        "redis": [redis_server.pid],
                    }
                    # Warm-up of both sides on one full batch (FFT plans, LAPACK workspaces,
                    # first matplotlib figure, the worker's pool child).
                    run_audit(sources[:16], options, device="cpu", artifacts=writer)
                    run_audit(sources[:16], no_maps, device="cpu")
                    service_run(client, pairs[:16], roles)
                    service_run(client, pairs[:16], roles, {"maps": False})

                    runs: dict[str, list[float]] = {k: [] for k in RUNS}
                    cpu: dict[str, list[float]] = {k: [] for k in RUNS}
                    service: list[dict[str, float]] = []
                    for _ in range(args.repeats):
                        for key, run_options, artifacts in (
                            ("in_maps", options, writer),
                            ("in_plain", no_maps, None),
                        ):
                            t, c = time.perf_counter(), self_cpu()
                            run_audit(sources, run_options, device="cpu", artifacts=artifacts)
                            runs[key].append(time.perf_counter() - t)
                            cpu[key].append(self_cpu() - c)
                        stats, last_job = service_run(client, pairs, roles)
                        service.append(stats)
                        runs["svc_maps"].append(stats["wall"])
                        cpu["svc_maps"].append(stats["cpu"] + stats["client_cpu"])
                        plain, _ = service_run(client, pairs, roles, {"maps": False})
                        runs["svc_plain"].append(plain["wall"])
                        cpu["svc_plain"].append(plain["cpu"] + plain["client_cpu"])
                    map_fetch = fetch_maps(client, last_job)
            finally:
                api.stop()
                worker.stop()

    n = args.pairs
    print(machine_line())
    print(
        f"workload: {n} pairs of {args.size}x{args.size} RGB PNG, batch_size 16, device cpu, "
        f"{args.repeats} interleaved repeats (pairs/s of the best run, median in brackets)"
    )
    for key, label in RUNS.items():
        best, median = min(runs[key]), statistics.median(runs[key])
        print(
            f"  {label:<52}: {n / best:7.2f} ({n / median:.2f}) pairs/s, "
            f"{statistics.median(cpu[key]):.2f} CPU s"
        )
    for service_key, inproc_key, what in (
        ("svc_maps", "in_maps", "default options (maps and plots)"),
        ("svc_plain", "in_plain", 'options {"maps": false}'),
    ):
        best = min(runs[inproc_key]) / min(runs[service_key])
        median = statistics.median(runs[inproc_key]) / statistics.median(runs[service_key])
        verdict = "met" if min(best, median) >= 0.85 else "MISSED"
        print(
            f"ratio service / in-process, {what}: {best:.1%} best, {median:.1%} median "
            f"(target >= 85 %: {verdict})"
        )
    print(
        "cost of the maps and plots, in-process: "
        f"{statistics.median(runs['in_maps']) / statistics.median(runs['in_plain']) - 1:.0%} "
        "more time than the audit alone"
    )
    print("service (default options) wall time split, seconds per run:")
    keys = ("upload", "post_tail", "queue", "audit", "poll", "report", "wall")
    print("  run " + "".join(f"{k:>10}" for k in keys) + "     polls")
    for i, s in enumerate(service):
        print(f"  {i:3d} " + "".join(f"{s[k]:10.3f}" for k in keys) + f"{int(s['polls']):10d}")
    print("service (default options) CPU seconds per run, by process:")
    cpu_keys = ("cpu_pool", "cpu_celery", "cpu_uvicorn", "cpu_redis", "client_cpu")
    print("  run " + "".join(f"{k.replace('cpu_', '').replace('_cpu', ''):>10}" for k in cpu_keys))
    for i, s in enumerate(service):
        print(f"  {i:3d} " + "".join(f"{s[k]:10.2f}" for k in cpu_keys))
    print(f"  report size {int(service[-1]['report_bytes'])} bytes")
    count, seconds, size = map_fetch
    print(
        f"first download of the last job's {count} maps (PNG encoded by the API on demand): "
        f"{seconds:.2f} s, {size / count / 1024:.0f} KiB each"
    )
    outside = [s["wall"] - s["audit"] for s in service]
    print(
        "time outside the worker's audit (upload, queue, poll, report): "
        f"{min(outside):.3f} s min, {statistics.median(outside):.3f} s median; "
        f"audit / wall {min(s['audit'] / s['wall'] for s in service):.1%} at worst"
    )
    print(f"total benchmark time {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
