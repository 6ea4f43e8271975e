"""The payload store: a job's inputs, manifest, report and artifacts in a directory tree.

Layout under ``root`` (a local directory or a shared volume)::

    jobs/<job id>/manifest.json
    jobs/<job id>/input/<file>          written by the API
    jobs/<job id>/report.json           written by the worker (atomic)
    jobs/<job id>/artifacts/<name>.png  written by the worker, or encoded from pixels (atomic)
    jobs/<job id>/pixels/<name>.png.npy RGB pixels of an artifact not yet encoded (atomic)

Job ids and file names are validated on every use, so no caller-controlled text reaches a
path unchecked. Writes of reports and artifacts go to a temporary file in the same directory
followed by ``os.replace``, so a reader sees the old file or the new one, never half of it.

Heat maps are many (one or more per pair) and encoding a PNG costs several times drawing
it, so the worker stores their pixels and the first download encodes them: the worker's
time goes to auditing, and maps nobody opens are never encoded.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Final, Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from api_schemas.jobs import JobManifest
from jobstore.errors import InvalidArtifactNameError, JobNotFoundError
from jobstore.ids import is_valid_job_id, validate_job_id

_NAME: Final = re.compile(r"[A-Za-z0-9._-]+")
_COPY_CHUNK: Final = 1 << 20


class _RecordLookup(Protocol):
    def exists(self, job_id: str) -> bool: ...


def validate_name(name: str) -> str:
    """Return a file name that is safe in a job directory, or raise."""
    if len(name) > 200 or _NAME.fullmatch(name) is None or name in (".", "..") or name[0] == ".":
        raise InvalidArtifactNameError(
            f"expected a name of [A-Za-z0-9._-] not starting with '.', got {name[:80]!r}"
        )
    return name


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class PayloadStore:
    """Files of jobs under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.jobs_root = self.root / "jobs"

    # -- paths ------------------------------------------------------------------------------

    def job_dir(self, job_id: str) -> Path:
        """The job's directory (not created)."""
        return self.jobs_root / validate_job_id(job_id)

    def input_dir(self, job_id: str) -> Path:
        """Directory of the job's uploaded images; manifest paths are relative to it."""
        return self.job_dir(job_id) / "input"

    def manifest_path(self, job_id: str) -> Path:
        """Where the job's manifest lives."""
        return self.job_dir(job_id) / "manifest.json"

    def report_path(self, job_id: str) -> Path:
        """Where the job's report lives once written."""
        return self.job_dir(job_id) / "report.json"

    def artifacts_dir(self, job_id: str) -> Path:
        """Directory of the job's artifacts (PNG maps and plots)."""
        return self.job_dir(job_id) / "artifacts"

    # -- inputs and manifest ----------------------------------------------------------------

    def write_input(self, job_id: str, name: str, source: BinaryIO) -> Path:
        """Stream ``source`` into the job's input directory as ``name``; returns the path."""
        target = self.input_dir(job_id) / validate_name(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as fh:
            shutil.copyfileobj(source, fh, _COPY_CHUNK)
        return target

    def write_manifest(self, manifest: JobManifest) -> None:
        """Write the manifest atomically (after the inputs it names)."""
        data = manifest.model_dump_json(indent=2).encode()
        _atomic_write(self.manifest_path(manifest.job_id), data)

    def read_manifest(self, job_id: str) -> JobManifest:
        """The job's manifest; raises ``JobNotFoundError`` if there is none."""
        path = self.manifest_path(job_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise JobNotFoundError(f"no manifest for job {job_id}") from exc
        return JobManifest.model_validate_json(data)

    # -- outputs ----------------------------------------------------------------------------

    def write_report(self, job_id: str, data: bytes) -> None:
        """Write the report JSON atomically."""
        _atomic_write(self.report_path(job_id), data)

    def read_report(self, job_id: str) -> bytes | None:
        """The report bytes, or ``None`` if not written (or the id is malformed)."""
        if not is_valid_job_id(job_id):
            return None
        try:
            return self.report_path(job_id).read_bytes()
        except FileNotFoundError:
            return None

    def write_artifact(self, job_id: str, name: str, data: bytes) -> Path:
        """Write an artifact atomically; ``name`` must match ``[A-Za-z0-9._-]+``."""
        path = self.artifacts_dir(job_id) / validate_name(name)
        _atomic_write(path, data)
        return path

    def write_artifact_pixels(self, job_id: str, name: str, pixels: NDArray[np.uint8]) -> None:
        """Keep an ``(H, W, 3)`` uint8 RGB image as the artifact ``name`` (a ``.png`` name),
        to be PNG-encoded when first read through :meth:`artifact_path`."""
        if not name.endswith(".png"):
            raise InvalidArtifactNameError(f"expected a .png artifact name, got {name[:80]!r}")
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError(f"expected (H, W, 3) uint8 pixels, got {pixels.dtype} {pixels.shape}")
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(pixels), allow_pickle=False)
        _atomic_write(self._pixels_path(job_id, name), buffer.getvalue())

    def artifact_path(self, job_id: str, name: str) -> Path | None:
        """The artifact's path if it exists; ``None`` for missing files and unsafe names.

        An artifact kept as pixels is encoded to PNG here, once: concurrent first reads may
        both encode, and the atomic replace leaves one whole file.
        """
        if not is_valid_job_id(job_id):
            return None
        try:
            path = self.artifacts_dir(job_id) / validate_name(name)
        except InvalidArtifactNameError:
            return None
        if path.is_file():
            return path
        pixels_path = self._pixels_path(job_id, name)
        try:
            pixels = np.load(pixels_path, allow_pickle=False)
        except FileNotFoundError:
            return path if path.is_file() else None  # encoded by a concurrent read meanwhile
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        _atomic_write(path, buffer.getvalue())
        pixels_path.unlink(missing_ok=True)
        return path

    def _pixels_path(self, job_id: str, name: str) -> Path:
        return self.job_dir(job_id) / "pixels" / f"{validate_name(name)}.npy"

    # -- deletion ---------------------------------------------------------------------------

    def delete(self, job_id: str) -> None:
        """Remove everything of the job (no error if nothing is there)."""
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def job_ids(self) -> list[str]:
        """Ids of the job directories present."""
        if not self.jobs_root.is_dir():
            return []
        return sorted(p.name for p in self.jobs_root.iterdir() if is_valid_job_id(p.name))

    def sweep_expired(
        self, records: _RecordLookup, *, min_age_seconds: float = 3600.0
    ) -> list[str]:
        """Delete payloads whose record is gone; returns the ids deleted.

        Directories younger than ``min_age_seconds`` are kept: the API writes inputs before
        it creates the record.
        """
        deleted = []
        cutoff = time.time() - min_age_seconds
        for job_id in self.job_ids():
            path = self.job_dir(job_id)
            try:
                young = path.stat().st_mtime > cutoff
            except FileNotFoundError:
                continue
            if young or records.exists(job_id):
                continue
            self.delete(job_id)
            deleted.append(job_id)
        return deleted
