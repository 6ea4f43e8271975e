"""Storage limits shared by the API and the workers: Redis refusing writes, the data disk's free
space, and the bytes each tenant stores.

**Write refusals.** Redis can be up, answer reads and still refuse writes: ``MISCONF`` (it
cannot persist: its append-only file or its snapshot cannot be written, usually because the
disk is full), ``OOM`` (``maxmemory`` reached under ``noeviction``), ``READONLY`` (a replica)
and ``NOREPLICAS`` (``min-replicas-to-write`` unmet). For a client these are "try again later",
not a bug. redis-py raises them as ``ResponseError`` (``OutOfMemoryError`` and
``ReadOnlyError`` for two of them); from a pipeline the message is prefixed (``Command # 1 (...)
of pipeline caused error: MISCONF ...``) and from inside a Lua script it is wrapped in a plain
``ResponseError`` (``Error running script (...): @user_script:1: -MISCONF ...``).
:func:`write_refusal` names the kind in every form, and returns ``None`` for every other
``ResponseError`` (a wrong type, a script bug), which stays an internal error.

**Stored bytes.** ``p:t:<tenant>:bytes`` is a hash of job id -> bytes the job keeps in the
payload store: its inputs and manifest from its creation (``JobRecords.create``, where the
quota is checked in the same script), everything once it finished (the worker's
:meth:`StoredBytes.set_job_bytes`). A tenant's usage is the sum over the jobs whose record still
exists, computed inside Lua, so a deleted or expired job stops counting in the very step that
removes its record; the entries of such jobs are pruned when met.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast

import redis

from jobstore import _lua
from jobstore.ids import validate_job_id
from jobstore.keyspace import RedisKeyspace

WriteRefusal = Literal["MISCONF", "OOM", "READONLY", "NOREPLICAS"]
_REFUSAL: Final = re.compile(
    r"(?:^|@user_script: ?\d+: -|of pipeline caused error: )(MISCONF|OOM|READONLY|NOREPLICAS) "
)
DISK_FULL_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT})
"""``OSError`` numbers that mean the disk (or the user's disk quota) is full."""


def write_refusal(exc: BaseException) -> WriteRefusal | None:
    """The kind of write refusal ``exc`` is, or ``None`` when it is none (see the module)."""
    if not isinstance(exc, redis.ResponseError):
        return None
    if isinstance(exc, redis.exceptions.OutOfMemoryError):
        return "OOM"
    if isinstance(exc, redis.exceptions.ReadOnlyError):
        return "READONLY"
    match = _REFUSAL.search(str(exc))
    return cast(WriteRefusal, match.group(1)) if match is not None else None


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is an ``OSError`` saying the disk (or a disk quota) is full."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged process can still write on the file system of ``path`` (the
    nearest existing parent when ``path`` does not exist yet)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def format_bytes(n: int) -> str:
    """Bytes for people: ``512 B``, ``12.0 KiB``, ``1.5 GiB``."""
    if n < 1024:
        return f"{n} B"
    value, unit = n / 1024, "KiB"
    for bigger in ("MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


def directory_bytes(path: Path) -> int:
    """Sum of the sizes of the regular files under ``path`` (0 when it does not exist)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                continue  # removed meanwhile (a temporary file, an encoded pixel file)
    return total


@dataclass(frozen=True)
class Persistence:
    """What Redis says of its persistence (``INFO persistence``)."""

    aof_enabled: bool
    aof_write_ok: bool
    """False while Redis cannot write its append-only file (it refuses writes with
    ``MISCONF`` and retries the write every second by itself)."""
    rdb_save_ok: bool
    """False after a failed snapshot; with save points and ``stop-writes-on-bgsave-error``
    Redis then refuses writes until a snapshot succeeds."""
    rdb_saving: bool

    @classmethod
    def read(cls, client: redis.Redis) -> Persistence:
        """Ask ``client``'s server."""
        info = cast(Mapping[str, Any], client.info("persistence"))
        return cls(
            aof_enabled=str(info.get("aof_enabled", 0)) == "1",
            aof_write_ok=str(info.get("aof_last_write_status", "ok")) == "ok",
            rdb_save_ok=str(info.get("rdb_last_bgsave_status", "ok")) == "ok",
            rdb_saving=str(info.get("rdb_bgsave_in_progress", 0)) == "1",
        )

    @property
    def ok(self) -> bool:
        """Whether the last writes of both the append-only file and the snapshot succeeded."""
        return self.aof_write_ok and self.rdb_save_ok

    def describe(self) -> str:
        """What failed, in words (empty when nothing did)."""
        failed = []
        if not self.aof_write_ok:
            failed.append("Redis cannot write its append-only file")
        if not self.rdb_save_ok:
            failed.append("Redis's last snapshot (BGSAVE) failed")
        return "; ".join(failed)


class StoredBytes(RedisKeyspace):
    """The bytes each tenant's jobs keep in the payload store, in the job records' Redis.

    Args:
        redis: A client of the Redis server that holds the job records.
        prefix: The job records' key prefix.
        retention_seconds: The job records' retention (the hash expires with the tenant's
            indexes).
    """

    def __init__(self, redis: redis.Redis, *, prefix: str, retention_seconds: int) -> None:
        super().__init__(redis, prefix)
        self.retention_seconds = retention_seconds
        self._usage = redis.register_script(_lua.TENANT_BYTES)
        self._set = redis.register_script(_lua.SET_JOB_BYTES)

    def usage(self, tenant: str) -> int:
        """Bytes the tenant's existing jobs store (prunes entries of jobs that are gone)."""
        return int(self._usage(args=[self.prefix, tenant]))

    def set_job_bytes(self, job_id: str, stored: int) -> bool:
        """Record that the job now stores ``stored`` bytes; False when its record is gone."""
        validate_job_id(job_id)
        if stored < 0:
            raise ValueError(f"expected a byte count >= 0, got {stored}")
        # The last argument is the script prelude's injected time (jobstore.clock): none here.
        args: list[str | int] = [self.prefix, job_id, self.retention_seconds, stored, ""]
        return bool(self._set(args=args))
