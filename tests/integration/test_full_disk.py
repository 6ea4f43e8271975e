"""A full data disk takes nothing down, and everything comes back by itself (issue #11, item 4).

As root, the test mounts a small tmpfs, runs ``restoration-audit serve`` (Redis with its
append-only file, a worker, uvicorn) with its data directory there and fills the disk for
real: first below the reserve (``RA_MIN_FREE_BYTES``), then to the last byte, so that Redis
cannot append and refuses writes with ``MISCONF``, and the launcher cannot write its state
file. The tmpfs is unmounted whatever happens.

Without root (or when the mount is refused) it cannot fill a disk safely, so it runs the same
checks on the fault-injection seams instead (``SEAM_TESTS``) and says so with a warning: Redis
refusing writes for real (a snapshot into a directory that cannot take one), a reserve above
the real free space, ``ENOSPC`` raised by the payload store, and a launcher whose state file
path is blocked. It never skips.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.stack import (
    REPO,
    ServeProcess,
    assert_problem,
    sample_pairs,
    submit,
    wait_for,
)
from tests.integration.test_jobs_http import FAST
from tests.support.http_servers import wait_until

DISK_SIZE = 48 << 20
RESERVE = 8 << 20
MIB = 1 << 20


@dataclass
class Disk:
    """Where the data directory goes: a real small disk (``tmpfs``) or not (``seam``)."""

    kind: str
    path: Path
    why_not_tmpfs: str = ""
    _filler: Path | None = None

    def fill(self, leave: int = 0) -> None:
        """Write a filler file until at most ``leave`` bytes are free (ENOSPC for 0)."""
        assert self.kind == "tmpfs"
        self._filler = self._filler or self.path / f"filler-{len(list(self.path.iterdir()))}"
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while True:
                free = self.free()
                if free <= leave:
                    return
                try:
                    os.write(fd, b"\0" * min(MIB, max(4096, free - leave)))
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    return
        finally:
            os.close(fd)

    def free(self) -> int:
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize

    def empty(self) -> None:
        """Remove the filler: space is back."""
        if self._filler is not None:
            self._filler.unlink(missing_ok=True)
            self._filler = None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Disk]:
    """A tmpfs of ``DISK_SIZE`` mounted for this test when root, else a plain directory."""
    path = tmp_path / "disk"
    path.mkdir()
    if os.geteuid() != 0:
        yield Disk("seam", path, "not root")
        return
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mount.returncode != 0:
        yield Disk("seam", path, f"mount refused: {mount.stderr.strip()}")
        return
    try:
        yield Disk("tmpfs", path)
    finally:
        for attempt in range(50):
            if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode:
                time.sleep(0.2)  # a process of the stack still closing its files
                continue
            break
        else:
            subprocess.run(["umount", "-l", str(path)], check=False)
        assert not os.path.ismount(path), f"{path} is still mounted"


def _readyz(client: httpx.Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    return response.status_code, response.json()


def test_a_full_data_disk_takes_nothing_down(
    small_disk: Disk, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    record_property("disk", small_disk.kind)
    print(f"\nfull-disk test on: {small_disk.kind} {small_disk.why_not_tmpfs}".rstrip())
    if small_disk.kind == "tmpfs":
        _whole_tree_on_a_full_tmpfs(small_disk, tmp_path)
    else:
        _on_the_seams(tmp_path)
        with warnings.catch_warnings():  # shown in the summary, not turned into an error
            warnings.simplefilter("always")
            warnings.warn(
                f"the full-disk test ran on its fault-injection seams, not on a tmpfs "
                f"({small_disk.why_not_tmpfs}); run it as root for the real disk",
                stacklevel=1,
            )


def _whole_tree_on_a_full_tmpfs(disk: Disk, tmp_path: Path) -> None:
    data = disk.path / "data"
    serve = ServeProcess(
        data,
        tmp_path / "serve.log",  # the launcher's log is not on the full disk
        RA_MIN_FREE_BYTES=str(RESERVE),
        RA_READINESS_CACHE_SECONDS="0",
    )
    try:
        serve.start()
        first = serve.state()
        assert first is not None
        with httpx.Client(base_url=serve.base_url, timeout=30) as client:
            kept = submit(client, sample_pairs(1, 64, seed=71), FAST).json()["id"]
            victim = submit(client, sample_pairs(2, 64, seed=72), FAST).json()["id"]
            for job in (kept, victim):
                assert wait_for(client, job, timeout=120)["state"] == "succeeded"

            # 1. Below the reserve, Redis still writing: no new uploads, DELETE frees space.
            disk.fill(leave=RESERVE // 2)
            refused = submit(client, sample_pairs(1, 64, seed=73), FAST)
            body = assert_problem(refused, 507)
            assert body["type"].endswith("/storage-full")
            assert int(refused.headers["retry-after"]) > 0
            assert body["free_bytes"] < body["reserve_bytes"] == RESERVE
            status, ready = _readyz(client)
            assert status == 503
            assert ready["checks"]["storage"] == "full", ready
            before = disk.free()
            assert client.delete(f"/v1/jobs/{victim}").status_code == 204
            assert not (data / "jobs" / victim).exists()
            assert disk.free() > before
            print(f"DELETE freed {disk.free() - before} bytes below the reserve")

            # 2. The last byte gone: Redis cannot append (MISCONF), the launcher cannot write.
            disk.fill(leave=0)
            assert disk.free() < 4096

            def redis_refuses() -> bool:
                status, ready = _readyz(client)  # its probe is a write: it hits the AOF
                messages = " ".join(e["message"] for e in ready.get("errors", []))
                return status == 503 and "append-only" in messages

            wait_until(redis_refuses, 30, "Redis to refuse writes (MISCONF)")
            status, ready = _readyz(client)
            assert ready["checks"]["storage"] == "full"
            assert ready["checks"]["redis"] == "ok"  # up and answering reads
            deleted = client.delete(f"/v1/jobs/{kept}")
            body = assert_problem(deleted, 503)
            assert "MISCONF" in body["detail"]
            assert int(deleted.headers["retry-after"]) > 0
            assert (data / "jobs" / kept).is_dir()  # nothing half-deleted
            assert client.get(f"/v1/jobs/{kept}").json()["state"] == "succeeded"  # reads work
            assert client.get(f"/v1/jobs/{kept}/report").status_code == 200
            assert submit(client, sample_pairs(1, 64, seed=74), FAST).status_code == 507

            # The worker dies (or died of MISCONF by itself); its restart cannot be recorded.
            worker = first["children"]["worker"]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker, signal.SIGKILL)
            wait_until(
                lambda: "cannot write" in serve.log() and "launcher.json" in serve.log(),
                60,
                "the launcher to fail writing its state file",
            )
            assert "No space left on device" in serve.log()
            time.sleep(2)
            assert serve.popen is not None
            assert serve.popen.poll() is None, f"serve died:\n{serve.log()[-3000:]}"
            assert client.get("/healthz").status_code == 200

            # 3. Space is back: everything recovers with no one touching it.
            disk.empty()
            wait_until(lambda: _readyz(client)[0] == 200, 150, "the service to be ready again")
            state = wait_until(
                lambda: (s := serve.state()) and s["worker_starts"] >= 2 and s,
                30,
                "launcher.json to be written again",
            )
            assert state["redis_starts"] == 1, "Redis never exited"
            assert "written again" in serve.log()
            assert client.delete(f"/v1/jobs/{kept}").status_code == 204
            again = submit(client, sample_pairs(1, 64, seed=75), FAST)
            assert again.status_code == 202, again.text
            assert wait_for(client, again.json()["id"], timeout=120)["state"] == "succeeded"
        assert serve.stop() == 0
    finally:
        serve.stop()
        disk.empty()


SEAM_TESTS = (
    "tests/unit/runtime/test_launcher_disk_full.py",
    "tests/unit/service/test_storage_limits.py",
    "tests/unit/jobstore/test_storage.py",
)
"""The seams: a blocked state file for the launcher; Redis put in MISCONF, OOM, READONLY and
NOREPLICAS for real; a reserve above the real free space; ``ENOSPC`` raised by the store."""


def _on_the_seams(tmp_path: Path) -> None:
    """The same promises without a disk to fill, from the tests of each seam, run here as
    their own session so that this test fails when any of them does."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SEAM_TESTS],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    print(result.stdout[-2000:])
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
