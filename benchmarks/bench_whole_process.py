"""The whole command as a user times it (issue 15 item 1): ``restoration-audit audit`` against
a plain torchmetrics script (benchmarks/peer_psnr_ssim.py) on the same PNG files.

Photographic pairs (256 px crops of scikit-image's bundled photographs, four kinds of
restoration in one restorer, seed 0) are written as PNGs to a temp dir; both commands run as
whole processes, alternating, and each run's wall time and rusage (os.wait4: user and system
CPU, minor page faults, peak RSS) is taken. Prints the medians and the ratio peer / ours
(above 1: the audit is faster than the peer).
``--baseline-root DIR`` adds a third command, alternating with the other two: the audit
of another checkout of this repository (for example ``git archive main | tar -x -C DIR``),
so that a before/after comparison runs under the same load. ``--untuned`` adds our audit
without the process settings of ``workers/process_tuning.py`` (``RESTORATION_AUDIT_SYSTEM_MALLOC=1``
and ``GOMP_SPINCOUNT=300000``, libgomp's default spin count), to tell the source changes from
the process settings. ``--service`` adds the worker's per-job time in the service: the same
files as one job (``{"color": "rgb", "maps": false}``, the command's output) through the HTTP
API, a real redis-server and one Celery worker (prefork, one pool child, started once and
warmed on one job); its row is the job record's started-to-finished time and the pool
child's CPU, minor faults (``/proc/<pid>/stat``) and peak RSS (``VmHWM``) over the job.
Usage: python benchmarks/bench_whole_process.py [--pairs 140] [--size 256] [--repeats 5]
       [--baseline-root DIR] [--untuned] [--service]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine_line, workload_parser
from tests.support.console import console_argv
from tests.support.sample_pairs import crops, degrade

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("noise", "blur", "jpeg", "sharpen")


@dataclass(frozen=True)
class Run:
    wall: float
    user: float
    system: float
    minor_faults: int
    peak_rss_mb: float


def timed(command: list[str], env: dict[str, str]) -> Run:
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} exited with {process.returncode}")
    # ru_maxrss is in KiB on Linux.
    return Run(wall, usage.ru_utime, usage.ru_stime, usage.ru_minflt, usage.ru_maxrss / 1024)


TICKS = os.sysconf("SC_CLK_TCK")


def _proc_usage(pid: int) -> tuple[float, float, int, float]:
    """(user s, system s, minor faults, peak RSS MB) of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    status = Path(f"/proc/{pid}/status").read_text()
    hwm_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS, int(fields[7]), hwm_kb / 1024


@contextmanager
def worker_job(truth_dir: Path, restored_dir: Path, tmp: Path) -> Iterator[Callable[[], Run]]:
    """A running stack (redis-server, one Celery worker, uvicorn) and a function that audits
    the files as one job and returns the worker's share of it."""
    import httpx

    from tests.fixtures.redis_server import RedisServer
    from tests.integration.stack import (
        ApiServer,
        WorkerProcess,
        stack_environment,
        submit,
        wait_for,
    )

    names = sorted(p.name for p in truth_dir.iterdir())
    pairs = [((truth_dir / n).read_bytes(), (restored_dir / n).read_bytes()) for n in names]
    options = {"color": "rgb", "maps": False}
    with ExitStack() as stack:
        redis_server = stack.enter_context(RedisServer(tmp / "redis"))
        env = stack_environment(redis_server.url, tmp / "data")
        (tmp / "logs").mkdir()
        worker = WorkerProcess(env, tmp / "logs")
        api = ApiServer(env, tmp / "logs" / "api.log")
        stack.callback(worker.stop)
        stack.callback(api.stop)
        worker.start(timeout=90.0)
        api.start(timeout=60.0)
        client = stack.enter_context(httpx.Client(base_url=api.base_url, timeout=120.0))

        def run() -> Run:
            (child,) = worker.pool_children()  # the one process that runs the tasks
            user0, system0, faults0, _ = _proc_usage(child)
            response = submit(client, pairs, options)
            if response.status_code != 202:
                raise SystemExit(f"submit answered {response.status_code}: {response.text}")
            job = wait_for(client, response.json()["id"], timeout=3600.0)
            if job["state"] != "succeeded":
                raise SystemExit(f"service job {job['state']}: {job.get('error')}")
            user, system, faults, peak = _proc_usage(child)
            started, finished = (
                datetime.fromisoformat(job[f"{k}_at"]).timestamp() for k in ("started", "finished")
            )
            return Run(finished - started, user - user0, system - system0, faults - faults0, peak)

        run()  # warm-up: the pool child's imports, FFT plans, first allocations
        (child,) = worker.pool_children()
        environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        waits = [e.decode() for e in environ if e.split(b"=")[0] in {b"OMP_WAIT_POLICY"}]
        print(f"  worker pool child {child}: {waits or 'no OMP_WAIT_POLICY'}", file=sys.stderr)
        yield run


def cpu_seconds(run: Run) -> float:
    return run.user + run.system


def median_run(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.user for r in runs),
        statistics.median(r.system for r in runs),
        int(statistics.median(r.minor_faults for r in runs)),
        statistics.median(r.peak_rss_mb for r in runs),
    )


def main() -> None:
    parser = workload_parser(__doc__, pairs=140)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-root", type=Path, default=None)
    parser.add_argument("--untuned", action="store_true")
    parser.add_argument("--service", action="store_true")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    envs: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="ra-whole-") as tmp, ExitStack() as stack:
        truth_dir, restored_dir = Path(tmp, "gt"), Path(tmp, "restored")
        truth_dir.mkdir()
        restored_dir.mkdir()
        for i, gt in enumerate(crops(args.pairs, args.size, seed=0)):
            Image.fromarray(gt).save(truth_dir / f"{i:04d}.png")
            Image.fromarray(degrade(gt, KINDS[i % 4], seed=i)).save(restored_dir / f"{i:04d}.png")
        commands = {
            "restoration-audit": [
                str(bin_dir / "restoration-audit"),
                "audit",
                "--ground-truth",
                str(truth_dir),
                "--restored",
                f"r={restored_dir}",
                "--color",
                "rgb",
                "--quiet",
                "--output",
                str(Path(tmp, "report.json")),
            ],
            "torchmetrics script": [
                sys.executable,
                str(ROOT / "benchmarks" / "peer_psnr_ssim.py"),
                str(truth_dir),
                str(restored_dir),
            ],
        }
        if args.baseline_root is not None:
            # The checkout's own console entry point: the installed script may name a module
            # the baseline does not have.
            baseline = console_argv(args.baseline_root.resolve())
            baseline += commands["restoration-audit"][1:]
            baseline[baseline.index("--output") + 1] = str(Path(tmp, "baseline.json"))
            commands["baseline audit"] = baseline
            envs["baseline audit"] = {**env, "PYTHONPATH": str(args.baseline_root.resolve())}
        if args.untuned:
            untuned = [*commands["restoration-audit"]]
            untuned[untuned.index("--output") + 1] = str(Path(tmp, "untuned.json"))
            commands["audit, untuned"] = untuned
            envs["audit, untuned"] = {
                **env,
                "RESTORATION_AUDIT_SYSTEM_MALLOC": "1",
                "GOMP_SPINCOUNT": "300000",
            }
        measured: dict[str, Callable[[], Run]] = {
            name: lambda command=command, name=name: timed(command, envs.get(name, env))
            for name, command in commands.items()
        }
        if args.service:
            service = Path(tmp, "service")
            service.mkdir()
            measured["worker, per job"] = stack.enter_context(
                worker_job(truth_dir, restored_dir, service)
            )
        runs: dict[str, list[Run]] = {name: [] for name in measured}
        for _ in range(args.repeats):  # alternating, so load drifts hit all alike
            for name, measure in measured.items():
                runs[name].append(run := measure())
                print(f"  {name}: {run}", file=sys.stderr, flush=True)  # progress
    print(
        f"{machine_line(with_torch=False)}\n"
        f"{args.pairs} PNG pairs at {args.size} px, whole processes, alternating, "
        f"median of {args.repeats}\n"
    )
    header = (
        f"{'command':<20} {'wall s':>7} {'user s':>7} {'sys s':>7} "
        f"{'minor faults':>12} {'peak RSS MB':>11}"
    )
    print(header)
    print("-" * len(header))
    medians = {name: median_run(r) for name, r in runs.items()}
    for name, m in medians.items():
        print(
            f"{name:<20} {m.wall:>7.2f} {m.user:>7.2f} {m.system:>7.2f} "
            f"{m.minor_faults:>12} {m.peak_rss_mb:>11.0f}"
        )
    ours, peer = medians["restoration-audit"], medians["torchmetrics script"]
    ratios = [
        ("peer / ours (wall)", peer.wall / ours.wall, " (goal >= 1.25x)"),
        ("peer / ours (user + system CPU)", cpu_seconds(peer) / cpu_seconds(ours), ""),
    ]
    if (base := medians.get("baseline audit")) is not None:
        ratios.append(("peer / baseline audit (wall)", peer.wall / base.wall, ""))
        ratios.append(("baseline audit / ours (wall)", base.wall / ours.wall, ""))
    if (job := medians.get("worker, per job")) is not None:
        ratios.append(("peer / worker's per-job time (wall)", peer.wall / job.wall, ""))
        per_job_cpu = cpu_seconds(peer) / cpu_seconds(job)
        ratios.append(("peer / worker's per-job CPU (user + system)", per_job_cpu, ""))
    if (plain := medians.get("audit, untuned")) is not None:
        ratios.append(("peer / untuned audit (wall)", peer.wall / plain.wall, ""))
        ratios.append(("untuned / ours (wall)", plain.wall / ours.wall, ""))
    print()
    for label, value, note in ratios:
        print(f"ratio {label}: {value:.2f}x{note}")


if __name__ == "__main__":
    main()
