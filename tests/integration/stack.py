"""Real processes for the integration tests: a Celery worker and uvicorn, each in its own group.

Nothing is mocked: the worker is ``python -m celery -A workers.celery_app worker`` (prefork,
one spawned pool process) against a real Redis server, and the API is uvicorn on a free
127.0.0.1 port. Both are stopped by PID / process group.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from api_schemas.jobs import JobManifest, ManifestPair
from api_schemas.options import AuditOptions
from api_schemas.tasks import AUDIT_QUEUE
from jobstore import JobRecord, JobRecords, PayloadStore, new_job_id
from jobstore.connection import DEFAULT_SENTINEL_MASTER
from tests.fixtures.redis_server import free_port
from tests.support.sample_pairs import crops, degrade
from workers.celery_app import create_celery_app
from workers.settings import WorkerSettings

REPO = Path(__file__).resolve().parents[2]
PROBLEM_JSON = "application/problem+json"
_names = itertools.count()


def _kill_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


FAST_RECOVERY = {
    "RA_LEASE_SECONDS": "5",
    "RA_SWEEP_INTERVAL": "0.5",
    "RA_UNACKED_RESTORE_INTERVAL": "1",
    "RA_BATCH_SIZE": "2",
    "RA_POLL_AFTER_SECONDS": "1",
    "RA_READINESS_CACHE_SECONDS": "0",
}
"""Settings of the integration stacks: a 5 s lease and a fast sweeper, so that a killed worker's
job is recovered within seconds; batches of two pairs, so progress shows on small jobs."""


def stack_environment(redis_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """Environment of a worker and an API process: this process's, less any ``RA_*``
    setting, then a local-mode stack on loopback using ``redis_url`` and ``data_dir`` on the
    CPU, then ``settings`` (``RA_*`` names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RA_")}
    env.update(
        RA_REDIS_URL=redis_url,
        RA_DATA_DIR=str(data_dir),
        RA_LOCAL_MODE="true",
        RA_HOST="127.0.0.1",
        RA_DEVICE="cpu",
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


def group_pids(pgid: int) -> list[int]:
    """PIDs of live (non-zombie) processes in process group ``pgid``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def spawn(
    argv: list[str], env: dict[str, str], cwd: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start a process of the stack in a session of its own (so stopping it signals its
    whole group), its stdout and stderr in ``log_path``."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class WorkerProcess:
    """One Celery worker process (and its pool child) started against the test Redis."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, cwd: Path = REPO) -> None:
        self.env = env
        self.cwd = cwd
        self.log_dir = log_dir
        self.popen: subprocess.Popen[bytes] | None = None
        self.nodename = ""
        self.log_path = log_dir / "worker-0.log"
        settings = WorkerSettings(
            redis_url=env["RA_REDIS_URL"],
            data_dir=Path(env["RA_DATA_DIR"]),
            redis_sentinel_master=env.get("RA_REDIS_SENTINEL_MASTER", DEFAULT_SENTINEL_MASTER),
        )
        self.app = create_celery_app(settings)

    def start(self, timeout: float = 90.0) -> WorkerProcess:
        """Start a worker with a fresh node name and wait until it answers ``ping``."""
        n = next(_names)
        self.nodename = f"ra-test-{n}@localhost"
        self.log_path = self.log_dir / f"worker-{n}.log"
        argv = [
            sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
            "-Q", AUDIT_QUEUE, "-c", "1", "-P", "prefork", "-n", self.nodename,
            "--loglevel", "INFO", "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        # A working directory elsewhere imports the repository through PYTHONPATH.
        env = {**self.env, "PYTHONPATH": str(REPO)} if self.cwd != REPO else self.env
        self.popen = spawn(argv, env, self.cwd, self.log_path)
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                raise RuntimeError(f"worker exited at start:\n{self.log()[-3000:]}")
            replies = self.app.control.ping(destination=[self.nodename], timeout=0.5)
            if replies:
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"worker did not answer ping:\n{self.log()[-3000:]}")

    @property
    def pid(self) -> int:
        """PID of the worker's main process."""
        if self.popen is None:
            raise RuntimeError("worker not started")
        return self.popen.pid

    def pool_children(self) -> list[int]:
        """PIDs of the pool's children, the processes that run the tasks (started by spawn;
        the worker's other processes, such as multiprocessing's resource tracker, are not)."""
        children = []
        for pid in group_pids(self.pid):
            try:
                spawned = b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:  # gone meanwhile
                continue
            if pid != self.pid and spawned:
                children.append(pid)
        return children

    def log(self) -> str:
        """The current worker's log so far."""
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and its pool child at once (a machine dying)."""
        if self.popen is not None:
            _kill_group(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, grace: float = 20.0) -> None:
        """Warm shutdown (SIGTERM), SIGKILL of the group after ``grace``; no process left."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                _kill_group(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        _kill_group(self.popen.pid, signal.SIGKILL)
        self.popen = None


class ApiServer:
    """uvicorn serving ``service.main:create_app`` on a free 127.0.0.1 port."""

    def __init__(self, env: dict[str, str], log_path: Path, *, access_log: bool = False) -> None:
        self.env = env
        self.log_path = log_path
        self.access_log = access_log
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ApiServer:
        """Start uvicorn and wait until ``/healthz`` answers."""
        argv = [
            sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--access-log" if self.access_log else "--no-access-log",
        ]  # fmt: skip
        self.popen = spawn(argv, self.env, REPO, self.log_path)
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                raise RuntimeError(f"uvicorn exited:\n{self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not answer:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL of the group."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(10)
        _kill_group(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)
        self.popen = None


SERVE = "import sys; from runtime.launcher import serve_main; sys.exit(serve_main(sys.argv[1:]))"


class ServeProcess:
    """``restoration-audit serve`` (the launcher: Redis, a worker, uvicorn) in its own process
    group, on a free port of ``host``, with this process's environment less any ``RA_*``
    setting plus ``settings``."""

    def __init__(
        self, data_dir: Path, log_path: Path, *, host: str = "127.0.0.1", **settings: str
    ) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.host = host
        self.port = free_port()
        self.base_url = f"http://{host}:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RA_")}
        self.env.update(RA_DEVICE="cpu", PYTHONUNBUFFERED="1", **settings)
        self.popen: subprocess.Popen[bytes] | None = None
        self.groups: set[int] = set()
        """Process groups of every child seen (stop() kills what is left of them)."""

    def state(self) -> dict[str, Any] | None:
        """``DATA/launcher.json`` (children's PIDs, start counts), or ``None`` before it."""
        try:
            state: dict[str, Any] = json.loads((self.data_dir / "launcher.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        self.groups.update(state["children"].values())
        return state

    def log(self) -> str:
        """The launcher's output so far (its children's included)."""
        return self.log_path.read_text(errors="replace")

    def ready(self) -> bool:
        """Whether ``/readyz`` answers 200 (Redis, storage and a worker)."""
        try:
            return httpx.get(f"{self.base_url}/readyz", timeout=2.0).status_code == 200
        except httpx.TransportError:
            return False

    def start(self, timeout: float = 120.0) -> ServeProcess:
        """Start the launcher and wait until the API is ready."""
        argv = [
            sys.executable, "-c", SERVE, "--host", self.host, "--port", str(self.port),
            "--data-dir", str(self.data_dir),
        ]  # fmt: skip
        self.popen = spawn(argv, self.env, REPO, self.log_path)
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.popen.poll() is not None:
                raise RuntimeError(f"serve exited ({self.popen.returncode}):\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"serve was not ready in {timeout} s:\n{self.log()[-3000:]}")
            time.sleep(0.2)
        self.state()
        return self

    def stop(self, grace: float = 60.0) -> int | None:
        """SIGTERM the launcher and wait; SIGKILL whatever is left. Returns its exit status."""
        if self.popen is None:
            return None
        self.state()
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)
        returncode = self.popen.poll()
        _kill_group(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)
        for pgid in self.groups:
            _kill_group(pgid, signal.SIGKILL)
        return returncode


# -- jobs made the way the API makes them ------------------------------------------------------


def stored_job(
    records: JobRecords,
    payloads: PayloadStore,
    pairs: Sequence[tuple[bytes, bytes]],
    options: dict[str, Any] | None = None,
) -> str:
    """Write inputs and manifest, then create the queued record; returns the job id.

    For tests that bypass the API's validation (a file corrupted in storage) or send the task
    themselves.
    """
    job_id = new_job_id()
    manifest_pairs = []
    for i, (gt, restored) in enumerate(pairs):
        payloads.write_input(job_id, f"gt{i}.png", io.BytesIO(gt))
        payloads.write_input(job_id, f"restored{i}.png", io.BytesIO(restored))
        manifest_pairs.append(
            ManifestPair(id=f"p{i}", ground_truth=f"gt{i}.png", restored=f"restored{i}.png")
        )
    payloads.write_manifest(
        JobManifest(
            job_id=job_id,
            tenant="local",
            created_at=datetime.now(UTC),
            options=AuditOptions.model_validate(options or {}),
            pairs=manifest_pairs,
        )
    )
    records.create(job_id, "local", len(manifest_pairs))
    return job_id


def wait_for_record(records: JobRecords, job_id: str, timeout: float = 60.0) -> JobRecord:
    """Poll the record until the job finished."""
    deadline = time.monotonic() + timeout
    while True:
        record = records.require(job_id)
        if record.finished:
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {record.state} after {timeout} s")
        time.sleep(0.1)


# -- requests ---------------------------------------------------------------------------------


def png(image: np.ndarray) -> bytes:
    """PNG bytes of an RGB uint8 array."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def sample_pairs(count: int, size: int, seed: int = 0) -> list[tuple[bytes, bytes]]:
    """``count`` (ground truth, restored) PNG pairs of real photo crops; restored is noisy or
    blurred."""
    kinds = ("noise", "blur")
    return [
        (png(gt), png(degrade(gt, kinds[i % 2], seed=seed + i)))
        for i, gt in enumerate(crops(count, size, seed=seed))
    ]


def multipart(pairs: Sequence[tuple[bytes, bytes]]) -> list[tuple[str, tuple[str, bytes, str]]]:
    """The ``files=`` argument of a ``POST /v1/jobs``: repeated image parts."""
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for i, (gt, restored) in enumerate(pairs):
        files.append(("ground_truth", (f"gt{i}.png", gt, "image/png")))
        files.append(("restored", (f"restored{i}.png", restored, "image/png")))
    return files


def submit(
    client: httpx.Client,
    pairs: Sequence[tuple[bytes, bytes]],
    options: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST a batch; returns the raw response."""
    data = {"options": json.dumps(options or {})}
    return client.post("/v1/jobs", files=multipart(pairs), data=data, headers=headers)


def wait_for(
    client: httpx.Client,
    job_id: str,
    states: Sequence[str] = ("succeeded", "failed", "cancelled"),
    timeout: float = 60.0,
    *,
    min_done: int = 0,
) -> dict[str, Any]:
    """Poll ``GET /v1/jobs/{id}`` until its state is one of ``states`` (and done >= min_done)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["state"] in states and job["progress"]["done"] >= min_done:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job} after {timeout} s")
        time.sleep(0.1)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with ``status``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert "type" in body
    return body


def assert_close(actual: Any, expected: Any, path: str = "$", tol: float = 1e-6) -> None:
    """Recursive equality of JSON documents, numbers to ``tol`` (relative or absolute)."""
    if isinstance(expected, float) or isinstance(actual, float):
        assert isinstance(actual, int | float), path
        assert isinstance(expected, int | float), path
        assert abs(actual - expected) <= tol * max(1.0, abs(expected)), (
            f"{path}: {actual} != {expected}"
        )
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), path
        assert actual.keys() == expected.keys(), path
        for key in expected:
            assert_close(actual[key], expected[key], f"{path}.{key}", tol)
    elif isinstance(expected, list):
        assert isinstance(actual, list), path
        assert len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, f"{path}[{i}]", tol)
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
