"""Job wire models: the status monitor of a long-running audit (API.md) and its manifest.

``JobRead`` is what ``GET /v1/jobs/{id}`` answers; ``JobCreateOptions`` is the JSON ``options``
part of ``POST /v1/jobs``; ``JobManifest`` is written next to a job's inputs so a worker knows
what to audit without anything but the job id travelling through the broker.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from api_schemas.callbacks import CallbackDelivery
from api_schemas.options import AuditOptions
from api_schemas.problems import Problem

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JOB_STATES: tuple[JobState, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED_STATES: frozenset[JobState] = frozenset({"succeeded", "failed", "cancelled"})
JobKind = Literal["audit", "selfcheck"]
"""What a job runs: an audit of uploaded pairs (``POST /v1/jobs``) or a self-check on a
synthetic Gaussian problem (``POST /v1/selfchecks``, docs/theory.md §3.12)."""
JOB_KINDS: tuple[JobKind, ...] = ("audit", "selfcheck")

_ID_SEGMENT = r"\w(?:[^/\\\x00-\x1f\x7f]*[^/\\\s\x00-\x1f\x7f])?"
PAIR_ID_PATTERN = rf"^{_ID_SEGMENT}(?:/{_ID_SEGMENT})*$"
"""One rule for the pair ids of the service and of the command line (whose ids are the file
name, ``restorer/name`` or ``restorer/name/sample``): segments joined by ``/``, each starting
with a letter, digit or ``_`` (so never ``.`` or ``..``), without backslashes or control
characters, not ending in a space. Ids are never used as file names (artifacts are named by
``artifact_stem``)."""
MAX_PAIR_ID_LENGTH = 255
GROUP_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$"
"""Restorer names, of the service's ``pairs[].group`` and of the command line's ``--restored
NAME=DIR`` alike."""
DEFAULT_GROUP = "default"

PairId = Annotated[
    str,
    Field(
        pattern=PAIR_ID_PATTERN,
        max_length=MAX_PAIR_ID_LENGTH,
        description="Segments joined by '/' (e.g. bicubic/0), each starting with a letter, "
        "digit or underscore, without backslashes or control characters.",
    ),
]
GroupName = Annotated[str, Field(pattern=GROUP_NAME_PATTERN, description="Restorer name.")]

_PAIR_ID: TypeAdapter[str] = TypeAdapter(PairId)
_GROUP_NAME: TypeAdapter[str] = TypeAdapter(GroupName)


def _refused(adapter: TypeAdapter[str], text: str) -> bool:
    try:
        adapter.validate_python(text)
    except ValidationError:
        return True
    return False


def pair_id_problem(text: str) -> str | None:
    """Why ``text`` is not a pair id (``None`` when it is), in words."""
    if not _refused(_PAIR_ID, text):
        return None
    return (
        f"{text!r} is not a pair id: segments joined by '/', each starting with a letter, "
        f"digit or '_', no backslash or control character, at most {MAX_PAIR_ID_LENGTH} "
        "characters"
    )


def group_name_problem(text: str) -> str | None:
    """Why ``text`` is not a restorer (group) name (``None`` when it is), in words."""
    if not _refused(_GROUP_NAME, text):
        return None
    return (
        f"{text!r} is not a restorer name: 1 to 64 letters, digits, '.', '_', '+' or '-', "
        "starting with a letter or digit"
    )


def artifact_stem(group: str, pair_id: str) -> str:
    """A file-name-safe stem for a pair's artifacts, named by restorer and file.

    Characters outside ``[A-Za-z0-9._-]`` (the payload store's rule) become ``_``, the
    restorer's name leads unless the id starts with it, and a short hash of the restorer and
    id keeps two pairs whose names map to the same text apart.

    Example:
        >>> artifact_stem("bicubic", "bicubic/photo 1")
        'bicubic_photo_1-d78815'
        >>> artifact_stem("default", "img0")
        'default_img0-31b978'
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", pair_id).strip("._") or "pair"
    if not pair_id.startswith(f"{group}/"):
        safe = f"{re.sub(r'[^A-Za-z0-9._-]', '_', group)}_{safe}"
    digest = hashlib.sha256(f"{group}\0{pair_id}".encode()).hexdigest()[:6]
    return f"{safe[:96]}-{digest}"


class JobProgress(BaseModel):
    """Pairs audited so far out of all pairs of the job."""

    done: int = Field(ge=0)
    total: int = Field(ge=0)


class ResourceLinks(BaseModel):
    """Links of a resource, its own URL first, under the wire name ``self`` (``self_`` in
    Python, where ``self`` is taken); the monitors' links extend it."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    self_: str = Field(alias="self")


class JobLinks(ResourceLinks):
    """Where to poll, fetch the report and cancel (absolute or root-relative URLs)."""

    report: str
    cancel: str


class JobMonitor(BaseModel):
    """What a job's monitor shows of its record, for a batch (``JobRead``) and a self-check
    (``SelfCheckRead``) alike."""

    id: str
    state: JobState
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: JobProgress
    cancel_requested: bool = False
    """A cancel was asked for; a running job stops at its worker's next check."""
    error: Problem | None = None

    def monitor_fields(self) -> dict[str, Any]:
        """These fields by name, to build another monitor of the same job from this one."""
        return {name: getattr(self, name) for name in JobMonitor.model_fields}


class JobRead(JobMonitor):
    """The status monitor of one job."""

    kind: JobKind = "audit"
    """``selfcheck`` for a self-check: its checks are at ``/v1/selfchecks/{id}``, and its
    report (of the synthetic restorers) at ``links.report`` like an audit's."""
    links: JobLinks
    callback: CallbackDelivery | None = Field(
        default=None,
        description="The job's webhook and its delivery attempts, when it named a "
        "`callback_url` (README: Webhooks).",
    )


class JobList(BaseModel):
    """One page of a tenant's jobs, newest first."""

    items: list[JobRead]
    next_page_token: str | None = None


class PairSpec(BaseModel):
    """Name and restorer (group) of the pair at the same position in the upload."""

    model_config = ConfigDict(extra="forbid")

    id: PairId | None = None
    group: GroupName | None = None
    input: PairId | None = None
    """The input this output was restored from; pairs of one group with the same input and a
    ``sample`` index are several samples of a stochastic restorer (docs/theory.md 3.9).
    Defaults to the pair's id."""
    sample: Annotated[int, Field(ge=0, le=10_000)] | None = None
    """Index of this output among its input's samples; every pair of a sampled group has
    one, and every input of it at least two."""


MAX_SOURCE_URI_LENGTH = 4096
SourceUri = Annotated[str, Field(min_length=1, max_length=MAX_SOURCE_URI_LENGTH)]


class SourcePair(PairSpec):
    """One pair given by reference (``api_schemas.sources``): where the worker reads its
    images, ``https://`` or ``file://`` URIs, plus the names a ``PairSpec`` gives."""

    ground_truth: SourceUri
    restored: SourceUri
    observation: SourceUri | None = None


class JobCreateOptions(AuditOptions):
    """The JSON ``options`` part of ``POST /v1/jobs``: audit options plus pair names by order.

    ``pairs[i]`` names the i-th ``ground_truth``/``restored`` pair; unnamed pairs are called
    ``pair-<i>`` and unassigned ones belong to group ``default``. ``sources`` lists the pairs
    by reference instead of file parts (then no image part is sent, and no ``pairs``).
    ``callback_url`` receives a signed event when the job finishes (``api_schemas.callbacks``).
    """

    pairs: list[PairSpec] | None = None
    callback_url: Annotated[str, Field(min_length=1, max_length=2048)] | None = Field(
        default=None,
        description="Where the worker side POSTs a signed event when the job succeeds, fails "
        "or is cancelled: https on the operator's RA_CALLBACK_ALLOWED_HOSTS (http to loopback "
        "in local mode), signed with the tenant's RA_CALLBACK_SECRET.",
    )
    sources: Annotated[list[SourcePair], Field(min_length=1)] | None = Field(
        default=None,
        description="The pairs by reference instead of file parts: https:// URIs on "
        "RA_SOURCE_ALLOWED_HOSTS or file:// URIs under RA_DATASET_ROOTS, fetched by the "
        "worker.",
    )

    @model_validator(mode="after")
    def _unique_pair_ids(self) -> JobCreateOptions:
        if self.sources is not None and self.pairs is not None:
            raise ValueError("name the pairs in sources, not in pairs, when sources are given")
        ids = [p.id for p in self.pair_specs() if p.id is not None]
        seen: set[str] = set()
        for pair_id in ids:
            if pair_id in seen:
                raise ValueError(f"duplicate pair id {pair_id!r}")
            seen.add(pair_id)
        return self

    def pair_specs(self) -> list[PairSpec]:
        """The names of the pairs by position, from ``pairs`` or ``sources``."""
        return list(self.sources or self.pairs or [])

    def audit_options(self) -> AuditOptions:
        """The options without the pair names, sources and callback, as the manifest and
        report keep them."""
        dumped = self.model_dump(exclude={"pairs", "sources", "callback_url"})
        return AuditOptions.model_validate(dumped)


def _relative_path(value: str) -> str:
    normal = posixpath.normpath(value)
    if (
        not value
        or value.startswith("/")
        or "\\" in value
        or normal != value
        or normal == ".."
        or normal.startswith("../")
    ):
        raise ValueError(
            f"expected a normalised path relative to the input directory, got {value!r}"
        )
    return value


RelativePath = Annotated[str, AfterValidator(_relative_path)]


class ManifestSources(BaseModel):
    """The URIs a pair given by reference is read from (``api_schemas.sources``)."""

    model_config = ConfigDict(extra="forbid")

    ground_truth: SourceUri
    restored: SourceUri
    observation: SourceUri | None = None


class ManifestPair(BaseModel):
    """One pair of a job: file paths relative to the job's input directory. A pair given by
    reference has ``sources``: the worker fetches them to these paths before the audit. A pair
    of a ground-truth-free job (docs/theory.md 3.9) has no ``ground_truth``."""

    model_config = ConfigDict(extra="forbid")

    id: PairId
    group: GroupName = DEFAULT_GROUP
    ground_truth: RelativePath | None = None
    restored: RelativePath
    observation: RelativePath | None = None
    input: PairId | None = None
    sample: int | None = None
    sources: ManifestSources | None = None


class ManifestHeader(BaseModel):
    """Whose job a manifest is and when it was made: the fields every kind of manifest opens
    with (``JobManifest``, ``SelfCheckManifest``)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal["1"] = "1"
    job_id: str
    tenant: str
    created_at: datetime


class JobManifest(ManifestHeader):
    """What a worker audits for a job; written by the service before the job is queued."""

    options: AuditOptions
    pairs: list[ManifestPair] = Field(min_length=1)
    callback_url: str | None = None
    """Where the terminal event goes (also kept on the job record, which the deliverer reads)."""

    @model_validator(mode="after")
    def _ground_truth_everywhere_or_nowhere(self) -> JobManifest:
        # One engine runs a job: the audit (every pair has its truth) or the
        # ground-truth-free audit (none has); the API never writes a mixed manifest.
        with_truth = {p.ground_truth is not None for p in self.pairs}
        if len(with_truth) > 1:
            raise ValueError("expected a ground truth for every pair or for none")
        return self

    @property
    def ground_truth_free(self) -> bool:
        """Whether the job is a ground-truth-free audit (no pair has a ground truth)."""
        return self.pairs[0].ground_truth is None
