"""Job records in Redis: the project's own job state (never Celery's result backend).

Every transition is one Lua script (``jobstore._lua``), conditional on the current state and,
for a running job, on the worker that holds its lease. Delivery through Celery is at least
once, so a second delivery of the same job finds it running (or finished) and does nothing.

Lifecycle::

    queued --try_start--> running --finish--> succeeded | failed
       |                    |  \\--mark_cancelled (after request_cancel)--> cancelled
       \\--request_cancel--> cancelled
    running with an expired lease --requeue--> queued (attempts + 1)
    running with an expired lease, cancel requested --requeue or try_start--> cancelled

A running job whose cancel was requested stays ``running`` (``cancel_requested`` set, its
lease still renewed, delete refused) until its worker acknowledges with ``mark_cancelled`` at
the next batch boundary, or until its lease expires because the worker is gone.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeVar, cast

import redis
from pydantic import BaseModel, ValidationError

from api_schemas.callbacks import CallbackDelivery
from api_schemas.jobs import (
    JOB_KINDS,
    JOB_STATES,
    JobKind,
    JobLinks,
    JobProgress,
    JobRead,
    JobState,
)
from api_schemas.problems import Problem
from jobstore import _lua
from jobstore._cursor import decode_token, encode_token
from jobstore.callbacks import CALLBACK_FIELD
from jobstore.clock import Clock, clock_argument, redis_now
from jobstore.errors import (
    JobAlreadyFinishedError,
    JobExistsError,
    JobNotFoundError,
    JobRunningError,
    StorageQuotaExceededError,
    TooManyJobsError,
)
from jobstore.idempotency import idempotency_key_name
from jobstore.ids import is_valid_job_id, validate_job_id
from jobstore.keyspace import RedisKeyspace

DEFAULT_RETENTION_SECONDS: Final = 7 * 86400
_FIELDS: Final = (
    "id",
    "tenant",
    "state",
    "created_at",
    "started_at",
    "finished_at",
    "done",
    "total",
    "error",
    "cancel_requested",
    "worker_id",
    "lease_until",
    "attempts",
    "version",
    "idempotency_key",
    "payload_digest",
    "kind",
)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _time(value: str) -> datetime | None:
    return datetime.fromtimestamp(float(value), tz=UTC) if value else None


_READ_FIELDS = frozenset(JobRead.model_fields) - {"progress", "error", "links", "callback"}
"""Fields of the wire form that a record holds as they are."""


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job as stored. Times are UTC; ``lease_until`` is set while running."""

    id: str
    tenant: str
    state: JobState
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    done: int
    total: int
    error: dict[str, Any] | None
    cancel_requested: bool
    worker_id: str | None
    lease_until: datetime | None
    attempts: int
    version: int
    idempotency_key: str | None
    payload_digest: str | None
    callback: dict[str, Any] | None = None
    """The webhook's delivery record (``jobstore.callbacks``), when the job named one."""
    kind: JobKind = "audit"
    """What the job runs; records written before kinds existed are audits."""

    @property
    def etag(self) -> str:
        """A strong entity tag that changes with every visible change of the record."""
        return f'"{self.id}.{self.version}"'

    @property
    def finished(self) -> bool:
        """Whether the job reached a final state."""
        return self.state in ("succeeded", "failed", "cancelled")

    @classmethod
    def from_hash(cls, raw: Mapping[Any, Any]) -> JobRecord:
        """Build a record from ``HGETALL`` output (bytes or str keys and values)."""
        h = {_text(k): _text(v) for k, v in raw.items()}
        state = h["state"]
        if state not in JOB_STATES:
            raise ValueError(f"expected a job state, got {state!r}")
        kind = h.get("kind") or "audit"
        if kind not in JOB_KINDS:
            raise ValueError(f"expected a job kind, got {kind!r}")
        created = _time(h["created_at"])
        if created is None:
            raise ValueError("job record without created_at")
        return cls(
            id=h["id"],
            tenant=h["tenant"],
            state=state,
            created_at=created,
            started_at=_time(h.get("started_at", "")),
            finished_at=_time(h.get("finished_at", "")),
            done=int(h.get("done", "0")),
            total=int(h.get("total", "0")),
            error=json.loads(h["error"]) if h.get("error") else None,
            cancel_requested=h.get("cancel_requested") == "1",
            worker_id=h.get("worker_id") or None,
            lease_until=_time(h.get("lease_until", "")),
            attempts=int(h.get("attempts", "0")),
            version=int(h.get("version", "1")),
            idempotency_key=h.get("idempotency_key") or None,
            payload_digest=h.get("payload_digest") or None,
            callback=_json_object(h.get(CALLBACK_FIELD, "")),
            kind=kind,
        )

    def to_read(self, base_url_prefix: str) -> JobRead:
        """The wire form; ``base_url_prefix`` is the jobs collection URL, e.g. ``/v1/jobs``."""
        url = f"{base_url_prefix.rstrip('/')}/{self.id}"
        # The fields the record and the wire share keep their names (id, kind, state, times,
        # cancel_requested); the rest is derived.
        shared = {f.name: getattr(self, f.name) for f in fields(self) if f.name in _READ_FIELDS}
        return JobRead(
            **shared,
            progress=JobProgress(done=self.done, total=self.total),
            error=_problem(self.error),
            links=JobLinks.model_validate(
                {"self": url, "report": f"{url}/report", "cancel": f"{url}/cancel"}
            ),
            callback=_stored(CallbackDelivery, self.callback),
        )


class JobRecords(RedisKeyspace):
    """Create, read, list and transition job records.

    Args:
        redis: A client of the Redis server that holds the records (any ``decode_responses``).
        prefix: Prefix of every key, so several deployments can share one server.
        retention_seconds: Records expire this long after their last change.
        clock: Epoch seconds now for leases and timestamps (``jobstore.clock``); ``None``, the
            default and what the service uses, is the Redis server's clock.
    """

    def __init__(
        self,
        redis: redis.Redis,
        *,
        prefix: str = "ra",
        retention_seconds: int = DEFAULT_RETENTION_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        if retention_seconds <= 0:
            raise ValueError(f"expected a positive retention, got {retention_seconds}")
        super().__init__(redis, prefix)
        self.retention_seconds = retention_seconds
        self.clock = clock
        self._create = redis.register_script(_lua.CREATE)
        self._try_start = redis.register_script(_lua.TRY_START)
        self._renew = redis.register_script(_lua.RENEW_LEASE)
        self._progress = redis.register_script(_lua.SET_PROGRESS)
        self._finish = redis.register_script(_lua.FINISH)
        self._cancel = redis.register_script(_lua.REQUEST_CANCEL)
        self._requeue = redis.register_script(_lua.REQUEUE)
        self._delete = redis.register_script(_lua.DELETE)

    # -- keys -------------------------------------------------------------------------------

    def _job_key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{validate_job_id(job_id)}"

    def _tenant_index(self, tenant: str, state: JobState | None = None) -> str:
        if state is None:
            return f"{self.prefix}:t:{tenant}:jobs"
        return f"{self.prefix}:t:{tenant}:state:{state}"

    def _run(self, script: Any, job_id: str, *args: object) -> Any:
        validate_job_id(job_id)
        time = clock_argument(self.clock)
        return script(args=[self.prefix, job_id, self.retention_seconds, *args, time])

    # -- create and read --------------------------------------------------------------------

    def create(
        self,
        job_id: str,
        tenant: str,
        total: int,
        *,
        idempotency_key: str | None = None,
        payload_digest: str | None = None,
        max_in_flight: int | None = None,
        stored_bytes: int = 0,
        max_stored_bytes: int | None = None,
        kind: JobKind = "audit",
    ) -> JobRecord:
        """Create a queued record of ``kind``; ``stored_bytes`` (its inputs) count towards the
        tenant's stored bytes (``jobstore.storage.StoredBytes``) from now until the record is gone.

        Raises:
            JobExistsError: A record with this id exists.
            TooManyJobsError: ``max_in_flight`` is set and the tenant has that many queued or
                running jobs (checked atomically with the insert).
            StorageQuotaExceededError: ``max_stored_bytes`` is set and the tenant's jobs
                store more than it less ``stored_bytes`` (checked atomically too).
        """
        ref = (
            idempotency_key_name(self.prefix, tenant, idempotency_key)
            if idempotency_key is not None
            else ""
        )
        limit = -1 if max_in_flight is None else max_in_flight
        quota = -1 if max_stored_bytes is None else max_stored_bytes
        status = self._run(
            self._create,
            job_id,
            tenant,
            total,
            idempotency_key or "",
            payload_digest or "",
            ref,
            limit,
            stored_bytes,
            quota,
            kind,
        )
        outcome = _text(status[0])
        if outcome == "exists":
            raise JobExistsError(f"job {job_id} exists")
        if outcome == "busy":
            raise TooManyJobsError(tenant, limit)
        if outcome == "quota":
            raise StorageQuotaExceededError(tenant, int(status[1]), quota, stored_bytes)
        return self.require(job_id)

    def get(self, job_id: str) -> JobRecord | None:
        """The record, or ``None`` when there is none (malformed ids included)."""
        if not is_valid_job_id(job_id):
            return None
        raw = cast(Mapping[Any, Any], self.redis.hgetall(self._job_key(job_id)))
        return JobRecord.from_hash(raw) if raw else None

    def require(self, job_id: str) -> JobRecord:
        """The record; raises ``JobNotFoundError`` when there is none."""
        record = self.get(job_id)
        if record is None:
            raise JobNotFoundError(f"no job {job_id[:80]!r}")
        return record

    def tenant_of(self, job_id: str) -> str | None:
        """The job's tenant (one ``HGET``), or ``None`` when there is no such job."""
        if not is_valid_job_id(job_id):
            return None
        value = self.redis.hget(self._job_key(job_id), "tenant")
        return None if value is None else _text(value)

    def kind_of(self, job_id: str) -> JobKind | None:
        """The job's kind (one ``HGET``), or ``None`` when there is no such job."""
        if not is_valid_job_id(job_id):
            return None
        if not self.redis.exists(self._job_key(job_id)):
            return None
        value = _text(self.redis.hget(self._job_key(job_id), "kind") or "audit")
        return "selfcheck" if value == "selfcheck" else "audit"

    def exists(self, job_id: str) -> bool:
        """Whether a record exists for ``job_id``."""
        return is_valid_job_id(job_id) and bool(self.redis.exists(self._job_key(job_id)))

    def list(
        self,
        tenant: str,
        *,
        state: JobState | None = None,
        page_size: int = 50,
        page_token: str | None = None,
    ) -> tuple[builtins.list[JobRecord], str | None]:
        """One page of the tenant's jobs, newest first, and the token of the next page.

        The token is an opaque cursor (the position after the last item), so pages stay
        stable while new jobs arrive. A token is only valid with the same ``state`` filter.

        Raises:
            InvalidPageTokenError: The token was not issued for this listing.
        """
        if page_size < 1:
            raise ValueError(f"expected a positive page size, got {page_size}")
        index = self._tenant_index(tenant, state)
        upper = "+inf" if page_token is None else f"({decode_token(page_token, state)}"
        found: builtins.list[tuple[JobRecord, float]] = []
        while len(found) <= page_size:
            want = page_size + 1 - len(found)
            rows = cast(
                builtins.list[tuple[Any, float]],
                self.redis.zrevrangebyscore(
                    index, upper, "-inf", start=0, num=want, withscores=True
                ),
            )
            if not rows:
                break
            pipe = self.redis.pipeline(transaction=False)
            for member, _ in rows:
                pipe.hgetall(f"{self.prefix}:job:{_text(member)}")
            for (member, score), raw in zip(rows, pipe.execute(), strict=True):
                record = JobRecord.from_hash(raw) if raw else None
                if record is None or (state is not None and record.state != state):
                    self.redis.zrem(index, member)  # expired record or stale state entry
                    continue
                found.append((record, score))
            upper = f"({int(rows[-1][1])}"
            if len(rows) < want:
                break
        items = [record for record, _ in found[:page_size]]
        token = None
        if len(found) > page_size:
            token = encode_token(int(found[page_size - 1][1]), state)
        return items, token

    def count_in_flight(self, tenant: str) -> int:
        """Queued plus running jobs of the tenant (expired entries are not counted)."""
        return sum(
            1
            for st in ("queued", "running")
            for member in cast(
                builtins.list[Any], self.redis.zrange(self._tenant_index(tenant, st), 0, -1)
            )
            if self.redis.exists(f"{self.prefix}:job:{_text(member)}")
        )

    def counts_by_state(self) -> dict[JobState, int]:
        """Jobs per state over all tenants (index sizes; expired records drop out lazily)."""
        pipe = self.redis.pipeline(transaction=False)
        for st in JOB_STATES:
            pipe.zcard(f"{self.prefix}:state:{st}")
        return dict(zip(JOB_STATES, (int(n) for n in pipe.execute()), strict=True))

    def prune_indexes(self, batch: int = 500) -> int:
        """Remove index entries whose record expired; returns how many. For the sweeper."""
        removed = 0
        for st in JOB_STATES:
            key = f"{self.prefix}:state:{st}"
            for member in self.redis.zscan_iter(key, count=batch):
                job_id = _text(member[0])
                if not self.redis.exists(f"{self.prefix}:job:{job_id}"):
                    removed += int(self.redis.zrem(key, job_id))
        return removed

    # -- worker side ------------------------------------------------------------------------

    def try_start(self, job_id: str, worker_id: str, lease_seconds: float) -> bool:
        """Take the job: queued, or running with an expired lease, becomes running by us.

        False when the job is gone, finished, cancelled or held by a live lease. A job whose
        cancel was requested is moved to cancelled instead (and False returned).
        """
        return bool(self._run(self._try_start, job_id, worker_id, lease_seconds))

    def renew_lease(self, job_id: str, worker_id: str, lease_seconds: float) -> bool:
        """Extend our lease; False if we no longer own the job. A cancel request does not
        stop renewals: the job stays ours until we ``mark_cancelled`` it."""
        return bool(self._run(self._renew, job_id, worker_id, lease_seconds))

    def holds(self, job_id: str, worker_id: str) -> bool:
        """Whether ``worker_id`` runs the job now (running, and its lease not taken over);
        the worker asks before each write to the job's payload."""
        state, holder = cast(
            builtins.list[Any], self.redis.hmget(self._job_key(job_id), "state", "worker_id")
        )
        return state is not None and _text(state) == "running" and _text(holder or "") == worker_id

    def set_progress(self, job_id: str, worker_id: str, done: int, total: int) -> bool:
        """Record progress; False (and nothing written) if we no longer own the job."""
        return bool(self._run(self._progress, job_id, worker_id, done, total))

    def finish(
        self,
        job_id: str,
        worker_id: str,
        state: Literal["succeeded", "failed"],
        error: dict[str, Any] | None = None,
    ) -> bool:
        """Running and owned by us -> ``state``; ``error`` is a problem document for failures."""
        if state not in ("succeeded", "failed"):
            raise ValueError(f"expected succeeded or failed, got {state!r}")
        payload = json.dumps(error, allow_nan=False) if error is not None else ""
        return bool(self._run(self._finish, job_id, worker_id, state, payload))

    def mark_cancelled(self, job_id: str, worker_id: str) -> bool:
        """Running and owned by us -> cancelled (the worker saw ``is_cancel_requested``)."""
        return bool(self._run(self._finish, job_id, worker_id, "cancelled", ""))

    def is_cancel_requested(self, job_id: str) -> bool:
        """Whether a cancel was requested (true also once cancelled)."""
        return _text(self.redis.hget(self._job_key(job_id), "cancel_requested") or "0") == "1"

    # -- client side ------------------------------------------------------------------------

    def request_cancel(self, job_id: str) -> JobRecord:
        """Cancel: a queued job at once, a running one by flag (its worker stops it).

        Idempotent on cancelled jobs.

        Raises:
            JobNotFoundError: No such job.
            JobAlreadyFinishedError: The job succeeded or failed.
        """
        outcome = _text(self._run(self._cancel, job_id))
        if outcome == "missing":
            raise JobNotFoundError(f"no job {job_id}")
        if outcome == "finished":
            raise JobAlreadyFinishedError(f"job {job_id} has already finished")
        return self.require(job_id)

    def delete(self, job_id: str, *, force: bool = False) -> None:
        """Delete the record, its index entries and its idempotency key.

        Raises:
            JobNotFoundError: No such job.
            JobRunningError: The job is running and ``force`` is false.
        """
        outcome = _text(self._run(self._delete, job_id, "1" if force else "0"))
        if outcome == "missing":
            raise JobNotFoundError(f"no job {job_id}")
        if outcome == "running":
            raise JobRunningError(f"job {job_id} is running")

    # -- sweeper ----------------------------------------------------------------------------

    def expired_leases(self, now: float | None = None) -> builtins.list[str]:
        """Ids of running jobs whose lease expired by ``now`` (epoch s; the store's clock if
        None)."""
        if now is None:
            now = redis_now(self.redis, self.clock)
        rows = cast(
            builtins.list[Any], self.redis.zrangebyscore(f"{self.prefix}:leases", "-inf", now)
        )
        return [_text(member) for member in rows]

    def requeue(self, job_id: str) -> bool:
        """Running with an expired lease -> queued, attempts + 1; True if the caller must
        send the task again. A job whose cancel was requested becomes cancelled instead."""
        return bool(self._run(self._requeue, job_id))


_M = TypeVar("_M", bound=BaseModel)


def _stored(model: type[_M], data: dict[str, Any] | None) -> _M | None:
    """A JSON object stored on the record as ``model``; ``None`` when absent or malformed
    (a malformed one must not turn a read into a 500)."""
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _problem(error: dict[str, Any] | None) -> Problem | None:
    """The stored error as a problem; a malformed one is wrapped rather than failing reads."""
    problem = _stored(Problem, error)
    if problem is None and error is not None:
        return Problem(title="Job failed", status=500, detail=json.dumps(error)[:2000])
    return problem


def _json_object(text: str) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
