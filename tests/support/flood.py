"""A bounded flood of submissions against a live API, with health and polling latencies
measured in the same run (issue #11, item 3).

The flood runs in a child process (threads, one connection each, ``concurrency`` requests in
flight for ``waves`` rounds), so that the prober in this process measures the server, not
the flooding client's GIL. Two prober threads here time ``GET /healthz`` and, when given a
job, ``GET /v1/jobs/{id}``, each every ``interval`` seconds until the flood is over.
"""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path

import httpx

from tests.support.crafted_images import strip_bomb_tiff


def bomb_files() -> list[tuple[str, tuple[str, bytes, str]]]:
    """One pair of strip-bomb TIFFs (about 2.5 KB each, 160 MB of float pixels declared)."""
    bomb = strip_bomb_tiff()
    return [
        ("ground_truth", ("gt.tif", bomb, "image/tiff")),
        ("restored", ("r.tif", bomb, "image/tiff")),
    ]


def _flood(
    base_url: str, concurrency: int, waves: int, started: Event, out: multiprocessing.Queue
) -> None:
    files = bomb_files()
    # One open connection per sender, made before the flood: the flood is requests, not
    # connection set-up (nor this process's own start).
    clients = [httpx.Client(base_url=base_url, timeout=120.0) for _ in range(concurrency)]
    for client in clients:
        client.get("/healthz")
    barrier = threading.Barrier(concurrency)

    def sender(client: httpx.Client) -> list[tuple[int, str]]:
        results = []
        for _ in range(waves):
            barrier.wait()  # every wave starts at once: `concurrency` requests in flight
            response = client.post("/v1/jobs", files=files)
            parts = [e.get("part", "") for e in response.json().get("errors") or []]
            results.append((response.status_code, ",".join(parts)))
        return results

    started.set()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        per_sender = list(pool.map(sender, clients))
    for client in clients:
        client.close()
    out.put([result for results in per_sender for result in results])


@dataclass
class FloodResult:
    """What one flood measured."""

    statuses: list[tuple[int, str]]
    """(status, parts named) of every flood request."""
    health: list[float]
    """Seconds of every ``GET /healthz`` during the flood."""
    polls: list[float]
    """Seconds of every ``GET /v1/jobs/{id}`` during the flood."""
    probe_failures: list[str]
    """Probes answered other than 200."""
    seconds: float
    """Duration of the flood."""
    peak_rss_mb: float | None
    """The API process's peak resident memory (``VmHWM``) after the flood."""

    @staticmethod
    def quantile(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    def summary(self) -> str:
        lines = [
            f"flood: {len(self.statuses)} requests in {self.seconds:.1f} s, statuses "
            + ", ".join(
                f"{s}: {sum(1 for t, _ in self.statuses if t == s)}"
                for s in sorted({t for t, _ in self.statuses})
            )
        ]
        for name, values in (("/healthz", self.health), ("GET /v1/jobs/{id}", self.polls)):
            if values:
                lines.append(
                    f"{name}: {len(values)} requests, p50 {statistics.median(values) * 1e3:.1f} "
                    f"ms, p99 {self.quantile(values, 0.99) * 1e3:.1f} ms, max "
                    f"{max(values) * 1e3:.1f} ms"
                )
        if self.peak_rss_mb is not None:
            lines.append(f"API peak resident memory: {self.peak_rss_mb:.0f} MB")
        return "\n".join(lines)


def peak_rss_mb(pid: int) -> float | None:
    """``VmHWM`` of a process in MB (None where /proc does not say)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def flood_and_probe(
    base_url: str,
    *,
    concurrency: int = 45,
    waves: int = 4,
    interval: float = 0.01,
    job_id: str | None = None,
    api_pid: int | None = None,
    timeout: float = 120.0,
) -> FloodResult:
    """Flood ``base_url`` with ``concurrency`` x ``waves`` bomb submissions while probing."""
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = context.Queue()
    started = context.Event()
    child = context.Process(target=_flood, args=(base_url, concurrency, waves, started, out))
    done = threading.Event()

    def probe(path: str, into: list[float]) -> None:
        with httpx.Client(base_url=base_url, timeout=30.0) as client:
            client.get(path)  # the connection is open before the flood starts
            started.wait(timeout)
            while not done.is_set():
                begin = time.perf_counter()
                status = client.get(path).status_code
                into.append(time.perf_counter() - begin)
                if status != 200:
                    failures.append(f"GET {path}: {status}")
                done.wait(interval)

    health: list[float] = []
    polls: list[float] = []
    failures: list[str] = []
    probes = [threading.Thread(target=probe, args=("/healthz", health), daemon=True)]
    if job_id is not None:
        probes.append(
            threading.Thread(target=probe, args=(f"/v1/jobs/{job_id}", polls), daemon=True)
        )
    for thread in probes:
        thread.start()
    child.start()
    try:
        if not started.wait(timeout):
            raise TimeoutError("the flooding process did not start")
        start = time.perf_counter()
        statuses = out.get(timeout=timeout)
        seconds = time.perf_counter() - start
    finally:
        done.set()
        for thread in probes:
            thread.join(30)
        if child.is_alive():
            child.kill()
    child.join(10)
    return FloodResult(
        statuses=statuses,
        health=health,
        polls=polls,
        probe_failures=failures,
        seconds=seconds,
        peak_rss_mb=peak_rss_mb(api_pid) if api_pid is not None else None,
    )
