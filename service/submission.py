"""Accepting a batch: validate everything that can be validated, store it, queue the job.

Order of work in ``Submissions.submit``:

1. counts and the JSON ``options`` part (cheap, no I/O); observations only with a degradation;
   a ``callback_url`` on the allow-list for a tenant with a secret; ``sources`` instead of
   parts, by the rule of ``api_schemas.sources`` (the worker fetches and checks the images);
2. the payload digest and the idempotency reservation (a replay skips everything below);
3. image headers of every part and equal sizes per pair, all errors reported together (a
   job of sources only gets its sample rule checked here);
4. room for it: the payload store's disk must keep ``min_free_bytes`` free after it (else 507
   ``storage-full``) and the tenant's stored bytes must stay within its quota (else 413
   ``storage-quota-exceeded``), both checked before anything is written;
5. the inputs and manifest into the payload store, then the job record (with the per-tenant
   limits, in-flight jobs and stored bytes, checked again atomically), then the task message.
   Whatever fails undoes what was done.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import BinaryIO, Final, Protocol

import redis
from pydantic import ValidationError

from api_schemas.callbacks import callback_url_problem
from api_schemas.degradation import parse_degradation
from api_schemas.images import Geometry, PairGeometry, audit_problems
from api_schemas.jobs import (
    DEFAULT_GROUP,
    JobCreateOptions,
    JobManifest,
    ManifestPair,
    ManifestSources,
)
from api_schemas.problems import ProblemError
from api_schemas.samples import (
    GROUND_TRUTH_FREE,
    SampleEntry,
    ground_truth_free_problems,
    sample_problems,
)
from api_schemas.sources import source_uri_problem
from jobstore import JobRecord, new_job_id
from jobstore import StorageQuotaExceededError as StoreQuotaExceededError
from jobstore import TooManyJobsError as StoreTooManyJobsError
from jobstore.admissions import Admissions
from jobstore.callbacks import CallbackQueue
from jobstore.storage import StoredBytes, format_bytes, free_bytes, is_disk_full
from observability.logs import bind
from service.budget import check_budget
from service.dispatch import DispatchError
from service.errors import (
    IdempotencyKeyInProgressError,
    IdempotencyKeyReusedError,
    InvalidSubmissionError,
    JobNotFoundError,
    ServiceUnavailableError,
    StorageFullError,
    StorageQuotaExceededError,
    TooManyJobsError,
    storage_full,
    validation_errors,
)
from service.images import ImageHeader, InvalidImageError, inspect_image
from service.resources import Resources

logger = logging.getLogger(__name__)

ROLES: Final = ("ground_truth", "restored", "observation")
TOO_MANY_JOBS_RETRY_AFTER: Final = 30
QUEUE_FULL_RETRY_AFTER: Final = 60
BROKER_RETRY_AFTER: Final = 10
STORAGE_RETRY_AFTER: Final = 30
_CHUNK: Final = 1 << 20
MAX_OPTIONS_BYTES: Final = 1 << 20
FORM_PARTS: Final = frozenset({*ROLES, "options"})
IDEMPOTENCY_KEY_PATTERN: Final = r"^[\x21-\x7e]{1,255}$"
OBSERVATION_NEEDS_DEGRADATION: Final = (
    "an observation is only used with a known degradation H (the audit measures how far each "
    "degraded restoration H(restored) is from it): add options.degradation, the degradation "
    "that made the observations, or leave the observation parts out"
)
"""Without a degradation the worker would ignore the observations: refused, not dropped."""


class SupportsFile(Protocol):
    """An uploaded part (``fastapi.UploadFile``): a binary file object."""

    @property
    def file(self) -> BinaryIO: ...


class Submissions:
    """Turns a validated upload into a queued job."""

    def __init__(self, resources: Resources) -> None:
        self.r = resources
        settings = resources.settings
        self.stored = StoredBytes(
            resources.redis,
            prefix=settings.redis_prefix,
            retention_seconds=settings.retention_seconds,
        )
        self.admissions = Admissions(resources.redis, prefix=settings.redis_prefix)

    def submit(
        self,
        tenant: str,
        ground_truth: Sequence[BinaryIO],
        restored: Sequence[BinaryIO],
        observation: Sequence[BinaryIO],
        options_text: str | None,
        idempotency_key: str | None,
    ) -> JobRecord:
        """Validate, store and queue a batch; returns the (new or replayed) job record.

        Raises:
            InvalidSubmissionError: Counts, options or images are invalid (errors name parts).
            IdempotencyKeyReusedError: The key was used with another payload.
            IdempotencyKeyInProgressError: A request with the key is still being accepted.
            TooManyJobsError: The tenant has too many unfinished jobs.
            StorageFullError: The payload store's disk is full or would be below its reserve.
            StorageQuotaExceededError: The tenant's jobs would store more than its quota.
            ServiceUnavailableError: The queue is full, or the broker did not take the task.
        """
        parts = {"ground_truth": ground_truth, "restored": restored, "observation": observation}
        options = self._check_counts_and_options(tenant, parts, options_text)
        if idempotency_key is None:
            return self._accept(tenant, parts, options, None, None)
        digest = payload_digest(parts, options)
        reservation = self.r.idempotency.reserve(tenant, idempotency_key, digest)
        if reservation.state == "replay" and reservation.job_id is not None:
            return self._replayed(tenant, reservation.job_id)
        if reservation.state == "mismatch":
            message = "this Idempotency-Key was used with a different payload; use a new key"
            raise IdempotencyKeyReusedError(
                message, errors=[ProblemError(part="idempotency-key", message=message)]
            )
        if reservation.state == "in_progress":
            raise IdempotencyKeyInProgressError(
                "a request with this Idempotency-Key is still being accepted",
                retry_after=reservation.retry_after,
            )
        try:
            record = self._accept(tenant, parts, options, idempotency_key, digest)
        except BaseException:
            self._release(tenant, idempotency_key)
            raise
        self.r.idempotency.complete(tenant, idempotency_key, record.id)
        return record

    # -- steps --------------------------------------------------------------------------------

    def _check_counts_and_options(
        self, tenant: str, parts: dict[str, Sequence[BinaryIO]], options_text: str | None
    ) -> JobCreateOptions:
        options = JobCreateOptions()
        errors: list[ProblemError] = []
        options_valid = True
        if options_text is not None and options_text.strip():
            try:
                options = JobCreateOptions.model_validate_json(options_text)
            except ValidationError as exc:
                options_valid = False
                errors += validation_errors(exc.errors(), prefix="options")
        free = is_ground_truth_free(parts, options)
        if options.sources is not None:
            errors += self._source_errors(parts, options)
            n = len(options.sources)
            observed = any(source.observation is not None for source in options.sources)
        else:
            errors += self._part_count_errors(parts)
            n = _part_pairs(parts)
            observed = bool(parts["observation"])
        limit = self.r.settings.max_pairs_per_job
        if n > limit:
            part = (
                "options.sources"
                if options.sources is not None
                else "restored"
                if free
                else "ground_truth"
            )
            errors.append(ProblemError(part=part, message=f"at most {limit} pairs, got {n}"))
        if observed and options_valid and options.degradation is None and not free:
            part = "options.sources" if options.sources is not None else "observation"
            errors.append(ProblemError(part=part, message=OBSERVATION_NEEDS_DEGRADATION))
        if options.degradation is not None:
            try:
                parse_degradation(options.degradation)
            except ValidationError as exc:
                errors += validation_errors(exc.errors(), prefix="options.degradation")
        if options.pairs is not None and len(options.pairs) != n:
            errors.append(
                ProblemError(
                    part="options.pairs",
                    message=f"expected {n} entries, one per pair, got {len(options.pairs)}",
                )
            )
        if options.callback_url is not None:
            errors += self._callback_errors(tenant, options.callback_url)
        if not errors:
            errors += _duplicate_ids(_pair_names(options, n))
        if not errors and free:  # what needs no image: the degradation, samples per input
            present = ["part"] * n  # observation parts are counted above; compared later
            errors += _ground_truth_free_errors(options, _pair_names(options, n), present, {})
        if errors:
            raise InvalidSubmissionError("the batch was not accepted", errors=errors)
        return options

    def _part_count_errors(self, parts: dict[str, Sequence[BinaryIO]]) -> list[ProblemError]:
        n = len(parts["ground_truth"])
        m, k = len(parts["restored"]), len(parts["observation"])
        found: list[tuple[str, str]] = []  # (part, message)
        if n == 0 and m:  # ground-truth-free: one observation per sample
            if not k:  # perhaps the ground truths were forgotten: say both
                found.append(
                    (
                        "ground_truth",
                        f"expected {m} parts, one per restored part, or none for a "
                        "ground-truth-free audit of samples (then with observations)",
                    )
                )
            if k != m:
                found.append(
                    (
                        "observation",
                        f"{GROUND_TRUTH_FREE}: expected {m} parts, one per restored part (the "
                        f"observation of its input), got {k}",
                    )
                )
        else:
            if n == 0:
                found.append(
                    (
                        "ground_truth",
                        "expected at least one part (or the pairs by reference in options.sources)",
                    )
                )
            if m != n:
                found.append(
                    (
                        "restored",
                        f"expected {n} parts, one per ground_truth part, got {m} (a job mixes "
                        "no pairs with and without ground truth: send a ground_truth part for "
                        "every restored part, or none for a ground-truth-free audit of samples)",
                    )
                )
            if k and k != n:
                found.append(("observation", f"expected none or {n} parts, one per pair, got {k}"))
        return [ProblemError(part=part, message=message) for part, message in found]

    def _source_errors(
        self, parts: dict[str, Sequence[BinaryIO]], options: JobCreateOptions
    ) -> list[ProblemError]:
        """Sources instead of parts: no image part, and every URI readable by the rule of
        ``api_schemas.sources`` as far as it is known without I/O (the worker checks the rest
        and fails the job with a problem naming the pair and role)."""
        settings = self.r.settings
        errors = [
            ProblemError(
                part=role, message="send the pairs as parts or as options.sources, not both"
            )
            for role in ROLES
            if parts[role]
        ]
        sources = options.sources or []
        observed = [source.observation is not None for source in sources]
        if any(observed) and not all(observed):
            errors.append(
                ProblemError(
                    part="options.sources",
                    message="expected an observation for every pair or for none",
                )
            )
        for i, source in enumerate(sources):
            for role in ROLES:
                uri = getattr(source, role)
                if uri is None:
                    continue
                problem = source_uri_problem(
                    uri,
                    allowed_hosts=settings.source_allowed_hosts,
                    dataset_roots=settings.dataset_roots,
                    local_mode=settings.local_mode,
                )
                if problem is not None:
                    errors.append(
                        ProblemError(part=f"options.sources[{i}].{role}", message=problem)
                    )
        return errors

    def _callback_errors(self, tenant: str, url: str) -> list[ProblemError]:
        settings = self.r.settings
        problem = callback_url_problem(
            url, settings.callback_allowed_hosts, local_mode=settings.local_mode
        )
        if problem is None and tenant not in settings.callback_secret:
            problem = (
                f"tenant {tenant} has no webhook secret: the operator sets it in "
                "RA_CALLBACK_SECRET before callbacks can be signed"
            )
        return (
            [] if problem is None else [ProblemError(part="options.callback_url", message=problem)]
        )

    def _inspect(
        self, parts: dict[str, Sequence[BinaryIO]], options: JobCreateOptions
    ) -> dict[str, list[ImageHeader]]:
        limits = self.r.settings.image_limits
        headers: dict[str, list[ImageHeader]] = {}
        errors = []
        for role in ROLES:
            for i, fp in enumerate(parts[role]):
                try:
                    header = inspect_image(fp, limits)
                    headers.setdefault(role, []).append(header)
                except InvalidImageError as exc:
                    errors.append(ProblemError(part=f"{role}[{i}]", message=str(exc)))
        if not errors:
            errors += _pair_errors(headers, options)
            names = _pair_names(options, _part_pairs(parts))
            if is_ground_truth_free(parts, options):
                keys = [_digest(fp) for fp in parts["observation"]]
                errors += _ground_truth_free_errors(options, names, keys, headers)
            else:
                errors += _sample_errors(options, names, headers)
        if errors:
            raise InvalidSubmissionError("the batch was not accepted", errors=errors)
        return headers

    def _accept(
        self,
        tenant: str,
        parts: dict[str, Sequence[BinaryIO]],
        options: JobCreateOptions,
        idempotency_key: str | None,
        digest: str | None,
    ) -> JobRecord:
        with self._admission(tenant, _parts_bytes(parts)) as job_id:
            queued = self.r.records.counts_by_state()["queued"]
            if queued >= self.r.settings.max_queued_jobs:  # a soft cap: concurrent submits may pass
                raise ServiceUnavailableError(
                    f"the queue is full ({queued} jobs waiting); try again later",
                    retry_after=QUEUE_FULL_RETRY_AFTER,
                )
            incoming = _parts_bytes(parts)
            self._check_room(tenant, incoming)
            n = _pair_count(parts, options)
            if options.sources is None:
                headers = self._inspect(parts, options)
                groups = [group for _, group in _pair_names(options, n)]
                budget = self.r.settings.max_job_memory_bytes
                check_budget(headers, groups, options.audit_options(), budget)
            else:  # the worker checks the images, their sizes and the budget once fetched
                headers = {}
                errors = _sample_errors(options, _pair_names(options, n), headers)
                if errors:
                    raise InvalidSubmissionError("the batch was not accepted", errors=errors)
            bind(job_id=job_id)
            try:
                self._store(job_id, tenant, parts, headers, options)
                record = self.r.records.create(
                    job_id,
                    tenant,
                    n,
                    idempotency_key=idempotency_key,
                    payload_digest=digest,
                    max_in_flight=self.r.settings.max_jobs_in_flight_per_tenant,
                    stored_bytes=self.r.payloads.stored_bytes(job_id),
                    max_stored_bytes=self.r.settings.max_stored_bytes_per_tenant,
                )
                if options.callback_url is not None:
                    record = self._register_callback(job_id, options.callback_url)
            except StoreTooManyJobsError as exc:
                self.r.payloads.delete(job_id)
                raise self._too_many() from exc
            except StoreQuotaExceededError as exc:  # a concurrent submission took the room
                self.r.payloads.delete(job_id)
                raise self._over_quota(tenant, exc.usage, exc.job_bytes) from exc
            except OSError as exc:  # disk full, volume gone: the payload store cannot take it
                logger.error("payload store write failed for job %s: %s", job_id, exc)
                try:  # best effort: a store that cannot write may not delete either
                    self.r.payloads.delete(job_id)
                except OSError as cleanup:
                    logger.error("job %s: cleanup failed too: %s", job_id, cleanup)
                if is_disk_full(exc):
                    raise self._store_full(self._free_bytes(), incoming) from exc
                raise ServiceUnavailableError(
                    "the payload store cannot take the batch now", retry_after=STORAGE_RETRY_AFTER
                ) from exc
            except BaseException:
                self.r.payloads.delete(job_id)
                raise
            try:
                self.r.dispatcher.enqueue_audit(job_id)
            except DispatchError as exc:
                self.r.records.delete(job_id, force=True)
                self.r.payloads.delete(job_id)
                raise ServiceUnavailableError(
                    "the task queue is unreachable; the job was not created",
                    retry_after=BROKER_RETRY_AFTER,
                ) from exc
            logger.info("queued job %s of tenant %s: %d pairs", job_id, tenant, n)
            return record

    @contextmanager
    def _admission(self, tenant: str, incoming: int) -> Iterator[str]:
        """Hold a slot of the tenant's in-flight limit for a new job id while the submission
        is inspected and stored; yields the id.

        The submission holds the slot (jobstore.admissions) so that at its limit a tenant
        gets 429 before any inspection; create() checks the limit again atomically. The disk
        and the quota come first: a full disk may also stop Redis's writes, and the client
        must hear "storage full" (507), not "try again" from a refused slot (503).
        """
        self._check_room(tenant, incoming)
        job_id = new_job_id()
        if not self.admissions.admit(tenant, job_id, self.r.settings.max_jobs_in_flight_per_tenant):
            raise self._too_many()
        try:
            yield job_id
        finally:
            try:
                self.admissions.release(tenant, job_id)
            except redis.RedisError:  # the slot lapses by itself
                logger.warning("could not release the admission of job %s", job_id)

    def _register_callback(self, job_id: str, url: str) -> JobRecord:
        """Queue the job's webhook (``jobstore.callbacks``); without it the job is not made.
        Returns the record as it now is (with its pending delivery)."""
        try:
            CallbackQueue(self.r.redis, prefix=self.r.settings.redis_prefix).register(job_id, url)
            return self.r.records.require(job_id)
        except BaseException:
            self.r.records.delete(job_id, force=True)
            raise

    def _check_room(self, tenant: str, incoming: int) -> None:
        """Refuse a batch of ``incoming`` bytes that the disk or the tenant's quota cannot
        take, before writing any of it (the quota is checked again atomically at creation)."""
        free = self._free_bytes()
        if free is not None and free - incoming < self.r.settings.min_free_bytes:
            raise self._store_full(free, incoming)
        usage = self.stored.usage(tenant)
        if usage + incoming > self.r.settings.max_stored_bytes_per_tenant:
            raise self._over_quota(tenant, usage, incoming)

    def _free_bytes(self) -> int | None:
        try:
            return free_bytes(self.r.payloads.root)
        except OSError as exc:  # the volume is gone: writing will say so
            logger.warning("free space of %s unknown: %s", self.r.payloads.root, exc)
            return None

    def _store_full(self, free: int | None, incoming: int) -> StorageFullError:
        reserve = self.r.settings.min_free_bytes
        if free is None:
            detail = "the payload store's disk is full; try again once space is freed"
        else:
            detail = (
                f"the payload store has {format_bytes(free)} free and keeps "
                f"{format_bytes(reserve)} in reserve; this batch of {format_bytes(incoming)} "
                "does not fit now: try again once jobs are deleted or expire"
            )
        return storage_full(detail, free_bytes=free, reserve_bytes=reserve, request_bytes=incoming)

    def _over_quota(self, tenant: str, usage: int, incoming: int) -> StorageQuotaExceededError:
        quota = self.r.settings.max_stored_bytes_per_tenant
        detail = (
            f"tenant {tenant} stores {format_bytes(usage)} of its {format_bytes(quota)} quota; "
            f"this batch of {format_bytes(incoming)} would exceed it: delete finished jobs "
            "(DELETE /v1/jobs/{id}) or wait for them to expire"
        )
        return StorageQuotaExceededError(
            detail,
            errors=[ProblemError(part="body", message=detail)],
            extensions={"quota_bytes": quota, "usage_bytes": usage, "request_bytes": incoming},
        )

    def _store(
        self,
        job_id: str,
        tenant: str,
        parts: dict[str, Sequence[BinaryIO]],
        headers: dict[str, list[ImageHeader]],
        options: JobCreateOptions,
    ) -> None:
        names: dict[str, list[str]] = {}
        for role in ROLES:
            for i, (fp, header) in enumerate(zip(parts[role], headers.get(role, []), strict=True)):
                name = f"{role}-{i:05d}.{header.extension}"
                self.r.payloads.write_input(job_id, name, fp)
                names.setdefault(role, []).append(name)
        sources = options.sources or []
        if sources:  # no part to write: the job's directory is made here, for its manifest
            self.r.payloads.create_job_dir(job_id)
        for i, source in enumerate(sources):  # the worker fetches them to these names
            for role in ROLES:
                if getattr(source, role) is not None:
                    names.setdefault(role, []).append(f"source-{i:05d}-{role}")
        pair_names = _pair_names(options, _pair_count(parts, options))
        specs = options.pair_specs()
        pairs = [
            ManifestPair(
                id=pair_id,
                group=group,
                ground_truth=names["ground_truth"][i] if "ground_truth" in names else None,
                restored=names["restored"][i],
                observation=names["observation"][i] if "observation" in names else None,
                input=specs[i].input if i < len(specs) else None,
                sample=specs[i].sample if i < len(specs) else None,
                sources=ManifestSources(
                    ground_truth=sources[i].ground_truth,
                    restored=sources[i].restored,
                    observation=sources[i].observation,
                )
                if sources
                else None,
            )
            for i, (pair_id, group) in enumerate(pair_names)
        ]
        manifest = JobManifest(
            job_id=job_id,
            tenant=tenant,
            created_at=datetime.now(UTC),
            options=options.audit_options(),
            pairs=pairs,
            callback_url=options.callback_url,
        )
        self.r.payloads.write_manifest(manifest)

    def _replayed(self, tenant: str, job_id: str) -> JobRecord:
        record = self.r.records.get(job_id)
        if record is None or record.tenant != tenant:
            raise JobNotFoundError("the job created with this Idempotency-Key no longer exists")
        bind(job_id=record.id)
        return record

    def _release(self, tenant: str, key: str) -> None:
        try:
            self.r.idempotency.release(tenant, key)
        except redis.RedisError:
            logger.warning("could not release idempotency key of tenant %s", tenant)

    def _too_many(self) -> TooManyJobsError:
        limit = self.r.settings.max_jobs_in_flight_per_tenant
        return TooManyJobsError(
            f"at most {limit} queued or running jobs per tenant; wait for one to finish",
            retry_after=TOO_MANY_JOBS_RETRY_AFTER,
        )


_PART = re.compile(r"\b(ground_truth|restored|observation)\[(\d+)\]")
_SHOWN_NAME_LENGTH = 80


def name_files(
    errors: list[ProblemError] | None, file_names: Mapping[str, Sequence[str | None]]
) -> list[ProblemError] | None:
    """Problems that also name the uploaded files: ``part`` stays the position a client can
    index (``restored[0]``); the message starts with that part's file name and ends naming
    the file of every other part it mentions (``'a.png': size 20x12 differs from
    ground_truth[0] (16x12); ground_truth[0] is 'b.png'``)."""

    def file_of(role: str, index: int) -> str | None:
        names = file_names.get(role, ())
        name = names[index] if index < len(names) else None
        if not name:
            return None
        return repr("".join(c for c in name if c.isprintable())[:_SHOWN_NAME_LENGTH])

    if errors is None:
        return None
    renamed = []
    for error in errors:
        message = error.message
        mentioned = []
        for match in _PART.finditer(message):
            shown = file_of(match.group(1), int(match.group(2)))
            if shown is not None and match.group(0) != error.part:
                mentioned.append(f"{match.group(0)} is {shown}")
        if mentioned:
            message += "; " + ", ".join(dict.fromkeys(mentioned))
        own = _PART.fullmatch(error.part)
        shown = None if own is None else file_of(own.group(1), int(own.group(2)))
        if shown is not None:
            message = f"{shown}: {message}"
        renamed.append(ProblemError(part=error.part, message=message))
    return renamed


def options_text(value: str | SupportsFile | None) -> str | None:
    """The ``options`` part as text, whether sent as a field or as a JSON file part.

    Raises:
        InvalidSubmissionError: The part is over 1 MiB or not UTF-8.
    """
    if value is None or isinstance(value, str):
        return value
    data = value.file.read(MAX_OPTIONS_BYTES + 1)
    value.file.seek(0)
    if len(data) > MAX_OPTIONS_BYTES:
        error = ProblemError(part="options", message=f"over {MAX_OPTIONS_BYTES} bytes")
        raise InvalidSubmissionError("the batch was not accepted", errors=[error])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        error = ProblemError(part="options", message="expected UTF-8 JSON text")
        raise InvalidSubmissionError("the batch was not accepted", errors=[error]) from exc


def _parts_bytes(parts: dict[str, Sequence[BinaryIO]]) -> int:
    """Total size of the uploaded parts (spooled files: seek to the end and back)."""
    total = 0
    for fps in parts.values():
        for fp in fps:
            position = fp.tell()
            total += fp.seek(0, os.SEEK_END)
            fp.seek(position)
    return total


def _pair_count(parts: dict[str, Sequence[BinaryIO]], options: JobCreateOptions) -> int:
    """Pairs of the batch: its sources, else its parts (``_part_pairs``)."""
    return len(options.sources) if options.sources is not None else _part_pairs(parts)


def _part_pairs(parts: dict[str, Sequence[BinaryIO]]) -> int:
    """Pairs sent as parts: one per ground-truth part, or per restored part (a sample) when
    there is none (ground-truth-free)."""
    return len(parts["ground_truth"]) or len(parts["restored"])


def is_ground_truth_free(parts: dict[str, Sequence[BinaryIO]], options: JobCreateOptions) -> bool:
    """A batch of restored parts and no ground truth: the ground-truth-free audit of samples
    (docs/theory.md 3.9; ``api_schemas.samples.ground_truth_free_problems``)."""
    return options.sources is None and not parts["ground_truth"] and bool(parts["restored"])


def _digest(fp: BinaryIO) -> str:
    """SHA-256 of a part's bytes (then rewound): equal observations have equal digests."""
    digest = hashlib.sha256()
    fp.seek(0)
    while chunk := fp.read(_CHUNK):
        digest.update(chunk)
    fp.seek(0)
    return digest.hexdigest()


def _ground_truth_free_errors(
    options: JobCreateOptions,
    names: list[tuple[str, str]],
    observations: Sequence[str | None],
    headers: dict[str, list[ImageHeader]],
) -> list[ProblemError]:
    """The ground-truth-free rule of ``api_schemas.samples`` on a batch without ground
    truth: samples per input, their observation, the degradation."""
    return ground_truth_free_problems(
        _sample_entries(options, names, headers),
        observations,
        has_degradation=options.degradation is not None,
    )


def _pair_names(options: JobCreateOptions, n: int) -> list[tuple[str, str]]:
    specs = options.pair_specs()
    names = []
    for i in range(n):
        spec = specs[i] if i < len(specs) else None
        pair_id = spec.id if spec is not None and spec.id is not None else f"pair-{i}"
        group = spec.group if spec is not None and spec.group is not None else DEFAULT_GROUP
        names.append((pair_id, group))
    return names


def _sample_errors(
    options: JobCreateOptions, names: list[tuple[str, str]], headers: dict[str, list[ImageHeader]]
) -> list[ProblemError]:
    """Several outputs per input: the rule of ``api_schemas.samples`` (docs/theory.md 3.9)."""
    return [
        ProblemError(part=f"options.pairs[{p.position}]", message=p.message)
        for p in sample_problems(_sample_entries(options, names, headers))
    ]


def _sample_entries(
    options: JobCreateOptions, names: list[tuple[str, str]], headers: dict[str, list[ImageHeader]]
) -> list[SampleEntry]:
    """What the samples rules need of each pair: names, input, sample, restored size."""
    specs = options.pair_specs()
    restored = headers.get("restored", [])
    return [
        SampleEntry(
            pair_id,
            group,
            specs[i].input if i < len(specs) else None,
            specs[i].sample if i < len(specs) else None,
            (restored[i].width, restored[i].height) if i < len(restored) else None,
        )
        for i, (pair_id, group) in enumerate(names)
    ]


def _pair_errors(
    headers: dict[str, list[ImageHeader]], options: JobCreateOptions
) -> list[ProblemError]:
    """What the options need of the images, by the rule the worker applies too
    (``api_schemas.images.audit_problems``): equal sizes and channels per pair, room for
    every patch size and the SSIM window inside the border, observations of the size and
    channels the degradation gives, RGB images for ``color: rgb``, and enough patches per
    group for ``knn_k``."""

    def geometry(role: str, i: int) -> Geometry:
        h = headers[role][i]
        return Geometry(f"{role}[{i}]", h.width, h.height, h.channels, h.orientation)

    observed = bool(headers.get("observation"))
    # Without ground truth each sample stands in for it: the same size, patch and window
    # rules, and its observation of the size the degradation makes of it.
    reference = "ground_truth" if headers.get("ground_truth") else "restored"
    pairs = [
        PairGeometry(
            geometry(reference, i),
            geometry("restored", i),
            geometry("observation", i) if observed else None,
            group,
        )
        for i, (_, group) in enumerate(_pair_names(options, len(headers[reference])))
    ]
    return audit_problems(pairs, options.audit_options())


def _duplicate_ids(names: list[tuple[str, str]]) -> list[ProblemError]:
    seen: set[str] = set()
    errors = []
    for i, (pair_id, _) in enumerate(names):
        if pair_id in seen:
            errors.append(
                ProblemError(
                    part=f"options.pairs[{i}].id", message=f"duplicate pair id {pair_id!r}"
                )
            )
        seen.add(pair_id)
    return errors


def payload_digest(parts: dict[str, Sequence[BinaryIO]], options: JobCreateOptions) -> str:
    """SHA-256 over the options (as validated, so spacing and defaults do not matter) and
    every part's role, position and bytes."""
    outer = hashlib.sha256()
    outer.update(b"options\0" + options.model_dump_json().encode() + b"\0")
    for role in ROLES:
        for i, fp in enumerate(parts[role]):
            inner = hashlib.sha256()
            fp.seek(0)
            while chunk := fp.read(_CHUNK):
                inner.update(chunk)
            fp.seek(0)
            outer.update(f"{role}[{i}]\0".encode() + inner.digest())
    return outer.hexdigest()
