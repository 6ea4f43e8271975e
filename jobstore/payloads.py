"""The payload store: a job's inputs, manifest, report and artifacts in a directory tree.

Layout under ``root`` (a local directory or a shared volume)::

    jobs/<job id>/manifest.json
    jobs/<job id>/selfcheck.json        a self-check's request (instead of manifest.json)
    jobs/<job id>/selfcheck-result.json a self-check's result, written by the worker (atomic)
    jobs/<job id>/input/<file>          written by the API
    jobs/<job id>/report.json           written by the worker (atomic)
    jobs/<job id>/artifacts/<name>.png  written by the worker, or encoded from pixels (atomic)
    jobs/<job id>/pixels/<name>.png.rgbz compressed RGB pixels of an artifact not yet encoded

Job ids and file names are validated on every use, so no caller-controlled text reaches a
path unchecked. Writes of reports and artifacts go to a temporary file in the same directory
followed by ``os.replace``, so a reader sees the old file or the new one, never half of it.

A deleted job's directory never comes back. Only the API's first input of a new job creates
``jobs/<job id>``; every other write (manifest, report, artifacts, pixels, a PNG encoded on
first download) needs it to exist and raises ``JobNotFoundError`` when it does not. Deletion
renames the directory into ``jobs/.trash`` (one atomic step) and removes it there, so a write
racing a delete either lands in the renamed directory and is removed with it, or fails.

Heat maps are many (one or more per pair) and encoding a PNG costs several times drawing
it, so the worker stores their pixels and the first download encodes them: the worker's
time goes to auditing, and maps nobody opens are never encoded. The pixels are kept
compressed (:func:`encode_pixels`: each row minus the row above, then zlib at level 1, several
times cheaper than the PNG), because raw they made a job's store hundreds of times larger than
its uploads (``benchmarks/bench_artifacts.py`` prints the figures, ``benchmarks/README.md``
keeps them). Stores
written before keep raw ``.npy`` pixels; those are still read.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import struct
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Final, Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from api_schemas.jobs import JobManifest
from api_schemas.selfcheck import SelfCheckManifest
from jobstore.errors import InvalidArtifactNameError, JobNotFoundError
from jobstore.ids import is_valid_job_id, validate_job_id

_NAME: Final = re.compile(r"[A-Za-z0-9._-]+")
_COPY_CHUNK: Final = 1 << 20
_TRASH: Final = ".trash"
"""Directory of ``jobs`` where deleted jobs' directories are removed (not a valid job id)."""
_PIXELS_HEADER: Final = struct.Struct("<5sII")
_PIXELS_MAGIC: Final = b"RAPX1"
_PIXELS_LEVEL: Final = 1
"""zlib level of stored pixels: level 6 saves 2 % more for three times the time."""


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
    """Write through a temporary file and ``os.replace``. The directory must exist: nothing
    here creates one (``FileNotFoundError`` instead)."""
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


def encode_pixels(pixels: NDArray[np.uint8]) -> bytes:
    """``(H, W, 3)`` uint8 RGB pixels as stored: a header (``RAPX1``, height, width as
    little-endian uint32) and the zlib stream (level 1) of the rows with PNG's "up" filter
    applied (each byte minus the byte above it, modulo 256), which makes the smooth columns of
    a heat map and its white margins mostly zeros. Lossless: :func:`decode_pixels` inverts it.
    """
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) uint8 pixels, got {pixels.dtype} {pixels.shape}")
    height, width = pixels.shape[:2]
    rows = np.ascontiguousarray(pixels).reshape(height, width * 3)
    filtered = rows.copy()
    filtered[1:] -= rows[:-1]  # uint8 arithmetic wraps modulo 256
    header = _PIXELS_HEADER.pack(_PIXELS_MAGIC, height, width)
    return header + zlib.compress(filtered.tobytes(), _PIXELS_LEVEL)


def decode_pixels(data: bytes) -> NDArray[np.uint8]:
    """The pixels :func:`encode_pixels` stored; ``ValueError`` for anything else (a foreign
    or truncated file, a stream longer than the header says)."""
    if len(data) < _PIXELS_HEADER.size:
        raise ValueError("expected stored pixels, got a truncated header")
    magic, height, width = _PIXELS_HEADER.unpack_from(data)
    if magic != _PIXELS_MAGIC or height == 0 or width == 0:
        raise ValueError("expected stored pixels (RAPX1 header)")
    size = height * width * 3
    stream = zlib.decompressobj()
    try:
        raw = stream.decompress(data[_PIXELS_HEADER.size :], size)
    except zlib.error as exc:
        raise ValueError(f"corrupt stored pixels: {exc}") from exc
    if len(raw) != size or not stream.eof or stream.unconsumed_tail:
        raise ValueError(f"expected {size} bytes of pixels, the stream holds another amount")
    filtered = np.frombuffer(raw, dtype=np.uint8).reshape(height, width * 3)
    rows = np.cumsum(filtered, axis=0, dtype=np.uint8)  # undoes "up", modulo 256
    return rows.reshape(height, width, 3)


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
        """Stream ``source`` into the job's input directory as ``name``; returns the path.

        The one write that creates the job's directory: the API writes the inputs of a new job
        id, before its record exists (so before anyone can delete it).
        """
        target = self.input_dir(job_id) / validate_name(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as fh:
            shutil.copyfileobj(source, fh, _COPY_CHUNK)
        return target

    def write_manifest(self, manifest: JobManifest) -> None:
        """Write the manifest atomically (after the inputs it names)."""
        data = manifest.model_dump_json(indent=2).encode()
        self._write_output(manifest.job_id, self.manifest_path(manifest.job_id), data)

    def read_manifest(self, job_id: str) -> JobManifest:
        """The job's manifest; raises ``JobNotFoundError`` if there is none."""
        path = self.manifest_path(job_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise JobNotFoundError(f"no manifest for job {job_id}") from exc
        return JobManifest.model_validate_json(data)

    def selfcheck_path(self, job_id: str) -> Path:
        """Where a self-check's request lives (docs/theory.md §3.12)."""
        return self.job_dir(job_id) / "selfcheck.json"

    def selfcheck_result_path(self, job_id: str) -> Path:
        """Where a self-check's result lives once written."""
        return self.job_dir(job_id) / "selfcheck-result.json"

    def create_job_dir(self, job_id: str) -> None:
        """Create the directory of a new job that has no inputs (a self-check without ground
        truths): like :meth:`write_input`, only for a job id whose record does not exist yet."""
        self.input_dir(job_id).mkdir(parents=True, exist_ok=True)

    def write_selfcheck_manifest(self, manifest: SelfCheckManifest) -> None:
        """Write a self-check's request atomically (after its inputs, if any)."""
        data = manifest.model_dump_json(indent=2).encode()
        self._write_output(manifest.job_id, self.selfcheck_path(manifest.job_id), data)

    def read_selfcheck_manifest(self, job_id: str) -> SelfCheckManifest:
        """The self-check's request; raises ``JobNotFoundError`` if there is none."""
        try:
            data = self.selfcheck_path(job_id).read_bytes()
        except FileNotFoundError as exc:
            raise JobNotFoundError(f"no self-check request for job {job_id}") from exc
        return SelfCheckManifest.model_validate_json(data)

    def write_selfcheck_result(self, job_id: str, data: bytes) -> None:
        """Write a self-check's result JSON atomically; ``JobNotFoundError`` if the job's
        directory is gone."""
        self._write_output(job_id, self.selfcheck_result_path(job_id), data)

    def read_selfcheck_result(self, job_id: str) -> bytes | None:
        """The self-check's result bytes, or ``None`` if not written."""
        return self._read_output(job_id, self.selfcheck_result_path)

    # -- outputs ----------------------------------------------------------------------------

    @staticmethod
    def _read_output(job_id: str, path_of: Callable[[str], Path]) -> bytes | None:
        """The bytes at ``path_of(job_id)``; ``None`` if not written or the id is malformed."""
        if not is_valid_job_id(job_id):
            return None
        try:
            return path_of(job_id).read_bytes()
        except FileNotFoundError:
            return None

    def _write_output(self, job_id: str, path: Path, data: bytes) -> Path:
        """Write ``data`` atomically at ``path``, in the job's directory or a subdirectory of
        it (created here, never the job's directory itself).

        Raises:
            JobNotFoundError: The job's directory is gone (deleted or expired); nothing was
                written.
        """
        try:
            if path.parent != self.job_dir(job_id):
                # No parents: a missing job directory stays so. Not Path.mkdir(exist_ok=True):
                # it re-raises FileExistsError when a DELETE renames the job directory between
                # its mkdir and its is_dir check; the write below then sees the directory gone.
                with contextlib.suppress(FileExistsError):
                    os.mkdir(path.parent)
            _atomic_write(path, data)
        except FileNotFoundError as exc:
            raise JobNotFoundError(
                f"job {job_id} has no payload directory (deleted or expired); nothing written"
            ) from exc
        return path

    def write_report(self, job_id: str, data: bytes) -> None:
        """Write the report JSON atomically; ``JobNotFoundError`` if the job's directory is
        gone."""
        self._write_output(job_id, self.report_path(job_id), data)

    def read_report(self, job_id: str) -> bytes | None:
        """The report bytes, or ``None`` if not written (or the id is malformed)."""
        return self._read_output(job_id, self.report_path)

    def write_artifact(self, job_id: str, name: str, data: bytes) -> Path:
        """Write an artifact atomically; ``name`` must match ``[A-Za-z0-9._-]+``.
        ``JobNotFoundError`` if the job's directory is gone."""
        return self._write_output(job_id, self.artifacts_dir(job_id) / validate_name(name), data)

    def write_artifact_pixels(self, job_id: str, name: str, pixels: NDArray[np.uint8]) -> None:
        """Keep an ``(H, W, 3)`` uint8 RGB image as the artifact ``name`` (a ``.png`` name),
        to be PNG-encoded when first read through :meth:`artifact_path`."""
        if not name.endswith(".png"):
            raise InvalidArtifactNameError(f"expected a .png artifact name, got {name[:80]!r}")
        self._write_output(job_id, self._pixels_path(job_id, name), encode_pixels(pixels))

    def artifact_path(self, job_id: str, name: str) -> Path | None:
        """The artifact's path if it exists; ``None`` for missing files and unsafe names.

        An artifact kept as pixels is encoded to PNG here, once: concurrent first reads may
        both encode, and the atomic replace leaves one whole file. Writing it needs room: on a
        full disk this raises ``OSError`` (``ENOSPC``), which the API answers with 507.
        """
        if not is_valid_job_id(job_id):
            return None
        try:
            path = self.artifacts_dir(job_id) / validate_name(name)
        except InvalidArtifactNameError:
            return None
        if path.is_file():
            return path
        for pixels_path in (self._pixels_path(job_id, name), self._raw_pixels_path(job_id, name)):
            try:
                data = pixels_path.read_bytes()
            except FileNotFoundError:
                continue
            if pixels_path.suffix == ".npy":  # written by an earlier version
                pixels = np.load(io.BytesIO(data), allow_pickle=False)
            else:
                pixels = decode_pixels(data)
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="PNG")
            try:
                self._write_output(job_id, path, buffer.getvalue())
            except JobNotFoundError:
                return None  # the job was deleted meanwhile: not brought back
            pixels_path.unlink(missing_ok=True)
            return path
        return path if path.is_file() else None  # encoded by a concurrent read meanwhile

    def open_artifact(self, job_id: str, name: str) -> BinaryIO | None:
        """The artifact opened for reading, or ``None`` (as :meth:`artifact_path`, and when
        the job is deleted before it opens). The open file reads whole even if the job is
        deleted while it is being read: serve from it, never from the path again."""
        path = self.artifact_path(job_id, name)
        if path is None:
            return None
        try:
            return path.open("rb")
        except FileNotFoundError:
            return None

    def _pixels_path(self, job_id: str, name: str) -> Path:
        return self.job_dir(job_id) / "pixels" / f"{validate_name(name)}.rgbz"

    def _raw_pixels_path(self, job_id: str, name: str) -> Path:
        """Where versions before compressed pixels kept them (``np.save``)."""
        return self.job_dir(job_id) / "pixels" / f"{validate_name(name)}.npy"

    # -- what the API and the workers ask of any backend -----------------------------------

    def check_reachable(self) -> None:
        """Raise ``StoreUnavailableError`` when the store cannot be reached. A local
        directory is always there (readiness checks its room and writability itself)."""

    def stored_bytes(self, job_id: str) -> int:
        """Bytes the job keeps in the store (its tenant's quota counts them)."""
        from jobstore.storage import directory_bytes  # storage imports nothing of this module

        return directory_bytes(self.job_dir(job_id))

    def presigned_url(self, job_id: str, name: str) -> str | None:
        """A URL a client may fetch the artifact from directly; ``None``: serve it through
        the API (always so for a directory)."""
        return None

    def discard_local(self, job_id: str) -> None:
        """Drop this process's local copies of the job's files once it finished (the
        directory is the store itself: nothing to drop)."""

    # -- deletion ---------------------------------------------------------------------------

    def delete(self, job_id: str) -> None:
        """Remove everything of the job (no error if nothing is there).

        The directory is renamed into ``jobs/.trash`` first: from that instant
        ``jobs/<job id>`` is gone for good (writes never create it), and writes racing the
        removal cannot leave files behind that keep the directory alive.
        """
        source = self.job_dir(job_id)
        trash = self.jobs_root / _TRASH
        target = trash / f"{job_id}.{uuid.uuid4().hex}"
        try:
            trash.mkdir(exist_ok=True)
            os.rename(source, target)
        except FileNotFoundError:
            return  # nothing there, or deleted concurrently
        shutil.rmtree(target, ignore_errors=True)

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
        trash = self.jobs_root / _TRASH
        if trash.is_dir():  # what a process that died while deleting left there
            for leftover in trash.iterdir():
                shutil.rmtree(leftover, ignore_errors=True)
        return deleted
