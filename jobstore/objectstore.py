"""The payload store in S3-compatible object storage, and the rule that picks a backend.

``RA_STORAGE_URL`` (read by the API and the workers alike through :func:`open_payload_store`):

* unset or ``file:///data``: the directory store (:class:`jobstore.payloads.PayloadStore`);
* ``s3://bucket/prefix``: :class:`S3PayloadStore`; credentials, region and endpoint come from
  the standard ``AWS_*`` variables through boto3 (``AWS_ENDPOINT_URL`` for MinIO and the like).

Objects have the directory store's layout under ``prefix`` (``jobs/<id>/input/<file>``,
``manifest.json``, ``report.json``, ``artifacts/<name>``, ``pixels/<name>.png.rgbz``) plus
``jobs/<id>/.job``, a marker that plays the part of the job's directory: only a new job's
first input (or :meth:`S3PayloadStore.create_job_dir`) writes it, every other write needs it
and raises ``JobNotFoundError`` without it, and deletion removes it first. A write racing a
delete checks the marker again after writing and removes what it wrote when the marker went
meanwhile, so a deleted job's objects do not come back.

An object appears whole or not at all (S3 PUTs and completed multipart uploads are atomic),
so reports and artifacts are visible only once complete, as the directory store's
``os.replace`` makes them. Inputs are uploaded straight from the request's spooled parts
(``upload_fileobj``: multipart in ``MULTIPART_CHUNK`` pieces above ``MULTIPART_THRESHOLD``), never
whole in memory. The engine reads images from files, so :meth:`S3PayloadStore.input_dir`
downloads a job's inputs into the local scratch directory (``RA_DATA_DIR``) first; artifacts
kept as pixels are encoded to PNG on first download and the PNG uploaded, as with a directory.

Any failure to reach the store (connection refused, timeouts, 5xx after boto3's retries)
becomes :class:`jobstore.errors.StoreUnavailableError`: the API answers 503 with
``Retry-After``, the worker retries the job later.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final, TypeVar
from urllib.parse import urlsplit

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from api_schemas.jobs import JobManifest
from api_schemas.selfcheck import SelfCheckManifest
from jobstore.errors import InvalidArtifactNameError, JobNotFoundError, StoreUnavailableError
from jobstore.ids import is_valid_job_id, validate_job_id
from jobstore.payloads import (
    PayloadStore,
    _RecordLookup,
    decode_pixels,
    encode_pixels,
    validate_name,
)

_Model = TypeVar("_Model", JobManifest, SelfCheckManifest)

MULTIPART_THRESHOLD: Final = 8 << 20
"""Uploads above this size go in parts (S3's smallest part is 5 MiB)."""
MULTIPART_CHUNK: Final = 8 << 20
PRESIGN_SECONDS: Final = 300
"""Lifetime of a presigned artifact URL: long enough to start a download, short enough that a
leaked link soon stops working."""
_MARKER: Final = ".job"


class StorageUrlError(ValueError):
    """An ``RA_STORAGE_URL`` of no known form."""


def open_payload_store(
    storage_url: str | None, data_dir: Path, *, presign: bool = False
) -> PayloadStore:
    """The payload store ``storage_url`` names (see the module); ``data_dir`` is the
    directory store's root, or the object store's local scratch directory."""
    if not storage_url:
        return PayloadStore(data_dir)
    parts = urlsplit(storage_url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise StorageUrlError(f"expected file:///absolute/path, got {storage_url!r}")
        return PayloadStore(Path(parts.path))
    if parts.scheme == "s3":
        if not parts.netloc or parts.query or parts.fragment:
            raise StorageUrlError(f"expected s3://bucket/prefix, got {storage_url!r}")
        return S3PayloadStore(parts.netloc, parts.path.strip("/"), data_dir, presign=presign)
    raise StorageUrlError(f"expected a file:// or s3:// storage URL, got {storage_url!r}")


def _unavailable(exc: BaseException) -> bool:
    """Whether a boto3 error means "the store did not answer" rather than "no such key"."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return status >= 500 or status == 0
    return isinstance(exc, BotoCoreError | OSError)


def _missing(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class _Body(io.RawIOBase):
    """An object's streaming body as a read-only binary file (``StreamingBody`` is not one);
    a lost connection mid-read is the store going away."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except Exception as exc:
            raise StoreUnavailableError(f"the object store stopped answering: {exc}") from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


class _Object(io.BufferedReader):
    """An object opened for reading, with its length (there is no descriptor to ``fstat``)."""

    def __init__(self, body: Any, size: int) -> None:
        super().__init__(_Body(body), buffer_size=1 << 20)
        self.content_length = size


class S3PayloadStore(PayloadStore):
    """The payload store in the bucket ``bucket`` under ``prefix``; ``scratch`` holds local
    copies of inputs for the engine and nothing else."""

    def __init__(self, bucket: str, prefix: str, scratch: Path, *, presign: bool = False) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        super().__init__(scratch)
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.presign = presign
        # Few quick retries: a store that is down should be a 503 in seconds, not minutes.
        config = Config(
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=3,
            read_timeout=30,
        )
        self.client = boto3.client("s3", config=config)
        self.transfer = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=MULTIPART_CHUNK,
            use_threads=False,  # the API's submission threads are the concurrency
        )

    def __repr__(self) -> str:
        return f"S3PayloadStore(s3://{self.bucket}/{self.prefix})"

    # -- keys and calls ---------------------------------------------------------------------

    def _key(self, job_id: str, *parts: str) -> str:
        return "/".join((f"{self.prefix}jobs", validate_job_id(job_id), *parts))

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except Exception as exc:
            if _missing(exc):
                raise FileNotFoundError(kwargs.get("Key", "")) from exc
            if _unavailable(exc):
                raise StoreUnavailableError(f"the object store did not answer: {exc}") from exc
            raise

    def check_reachable(self) -> None:
        """One ``HeadBucket``: the bucket answers and these credentials may use it."""
        self._call("head_bucket")

    def _get(self, key: str) -> bytes | None:
        try:
            response = self._call("get_object", Key=key)
        except FileNotFoundError:
            return None
        with _Body(response["Body"]) as body:
            return body.read()

    def _read_object(self, job_id: str, name: str) -> bytes | None:
        """The job's object ``name``; ``None`` if not written or the id is malformed."""
        if not is_valid_job_id(job_id):
            return None
        return self._get(self._key(job_id, name))

    def _exists(self, key: str) -> bool:
        try:
            self._call("head_object", Key=key)
        except FileNotFoundError:
            return False
        return True

    def _list(self, prefix: str) -> Iterator[dict[str, Any]]:
        token: dict[str, str] = {}
        while True:
            page = self._call("list_objects_v2", Prefix=prefix, **token)
            yield from page.get("Contents", [])
            if not page.get("IsTruncated"):
                return
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def _job_exists(self, job_id: str) -> bool:
        return self._exists(self._key(job_id, _MARKER))

    def _put_checked(self, job_id: str, key: str, data: bytes) -> None:
        """Write ``data`` at ``key`` for a job that exists; ``JobNotFoundError`` otherwise.

        The marker is checked after the write, not before: a delete removes the marker before
        it lists the job's objects, so a write that finds the marker afterwards is listed and
        removed by a racing delete, and one that does not removes its object itself. One
        check per write instead of two (``benchmarks/bench_storage.py`` counts the cost).
        """
        self._call("put_object", Key=key, Body=data)
        if not self._job_exists(job_id):
            self._call("delete_object", Key=key)
            raise JobNotFoundError(
                f"job {job_id} has no payload (deleted or expired); nothing kept"
            )

    # -- inputs and manifest ----------------------------------------------------------------

    def write_input(self, job_id: str, name: str, source: BinaryIO) -> Path:
        """Upload ``source`` (read in chunks, multipart when large) as the job's input."""
        key = self._key(job_id, "input", validate_name(name))
        self._mark(job_id)
        try:
            self.client.upload_fileobj(source, self.bucket, key, Config=self.transfer)
        except Exception as exc:
            if _unavailable(exc) or isinstance(exc, self._transfer_errors()):
                raise StoreUnavailableError(f"the object store did not take {name}: {exc}") from exc
            raise
        return self.input_dir_path(job_id) / name

    @staticmethod
    def _transfer_errors() -> tuple[type[BaseException], ...]:
        from boto3.exceptions import S3UploadFailedError

        return (S3UploadFailedError,)

    def _mark(self, job_id: str) -> None:
        self._call("put_object", Key=self._key(job_id, _MARKER), Body=b"")

    def create_job_dir(self, job_id: str) -> None:
        """Create a new job's payload (its marker) before its record exists."""
        self._mark(job_id)

    def input_dir_path(self, job_id: str) -> Path:
        """Where :meth:`input_dir` puts the job's inputs locally (nothing downloaded)."""
        return super().input_dir(job_id)

    def input_dir(self, job_id: str) -> Path:
        """The job's inputs as local files: downloaded into the scratch directory when not
        there yet (the engine and the report page read files)."""
        target = self.input_dir_path(job_id)
        target.mkdir(parents=True, exist_ok=True)
        for entry in self._list(self._key(job_id, "input") + "/"):
            name = entry["Key"].rsplit("/", 1)[-1]
            path = target / validate_name(name)
            if path.is_file() and path.stat().st_size == entry["Size"]:
                continue
            partial = path.with_name(f".{name}.part")
            try:
                self.client.download_file(self.bucket, entry["Key"], str(partial))
            except Exception as exc:
                partial.unlink(missing_ok=True)
                if _missing(exc):
                    continue  # deleted meanwhile
                raise StoreUnavailableError(f"the object store did not give {name}: {exc}") from exc
            partial.replace(path)
        return target

    def _write_model(self, manifest: JobManifest | SelfCheckManifest, name: str) -> None:
        data = manifest.model_dump_json(indent=2).encode()
        self._put_checked(manifest.job_id, self._key(manifest.job_id, name), data)

    def _read_model(self, job_id: str, name: str, model: type[_Model], what: str) -> _Model:
        data = self._get(self._key(job_id, name))
        if data is None:
            raise JobNotFoundError(f"no {what} for job {job_id}")
        return model.model_validate_json(data)

    def write_manifest(self, manifest: JobManifest) -> None:
        self._write_model(manifest, "manifest.json")

    def read_manifest(self, job_id: str) -> JobManifest:
        return self._read_model(job_id, "manifest.json", JobManifest, "manifest")

    def write_selfcheck_manifest(self, manifest: SelfCheckManifest) -> None:
        self._write_model(manifest, "selfcheck.json")

    def read_selfcheck_manifest(self, job_id: str) -> SelfCheckManifest:
        return self._read_model(job_id, "selfcheck.json", SelfCheckManifest, "self-check request")

    def write_selfcheck_result(self, job_id: str, data: bytes) -> None:
        self._put_checked(job_id, self._key(job_id, "selfcheck-result.json"), data)

    def read_selfcheck_result(self, job_id: str) -> bytes | None:
        return self._read_object(job_id, "selfcheck-result.json")

    # -- outputs ----------------------------------------------------------------------------

    def write_report(self, job_id: str, data: bytes) -> None:
        self._put_checked(job_id, self._key(job_id, "report.json"), data)

    def read_report(self, job_id: str) -> bytes | None:
        return self._read_object(job_id, "report.json")

    def write_artifact(self, job_id: str, name: str, data: bytes) -> Path:
        self._put_checked(job_id, self._key(job_id, "artifacts", validate_name(name)), data)
        return self.artifacts_dir(job_id) / name

    def write_artifact_pixels(self, job_id: str, name: str, pixels: NDArray[np.uint8]) -> None:
        if not name.endswith(".png"):
            raise InvalidArtifactNameError(f"expected a .png artifact name, got {name[:80]!r}")
        key = self._key(job_id, "pixels", f"{validate_name(name)}.rgbz")
        self._put_checked(job_id, key, encode_pixels(pixels))

    def _artifact_key(self, job_id: str, name: str) -> str | None:
        """The key of the artifact as a PNG (encoded from stored pixels here, once), or
        ``None`` for a missing artifact, an unsafe name or a deleted job."""
        if not is_valid_job_id(job_id):
            return None
        try:
            key = self._key(job_id, "artifacts", validate_name(name))
        except InvalidArtifactNameError:
            return None
        if self._exists(key):
            return key
        pixels_key = self._key(job_id, "pixels", f"{name}.rgbz")
        data = self._get(pixels_key)
        if data is None:
            return key if self._exists(key) else None  # encoded by a concurrent read meanwhile
        buffer = io.BytesIO()
        Image.fromarray(decode_pixels(data)).save(buffer, format="PNG")
        try:
            self._put_checked(job_id, key, buffer.getvalue())
        except JobNotFoundError:
            return None
        self._call("delete_object", Key=pixels_key)
        return key

    def open_artifact(self, job_id: str, name: str) -> BinaryIO | None:
        """The artifact's object, streaming (reads whole even if the job is deleted once the
        GET started: the store answers the object it had)."""
        key = self._artifact_key(job_id, name)
        if key is None:
            return None
        try:
            response = self._call("get_object", Key=key)
        except FileNotFoundError:
            return None
        return _Object(response["Body"], int(response["ContentLength"]))

    def artifact_path(self, job_id: str, name: str) -> Path | None:
        """A local copy of the artifact (for the HTML report page), or ``None``."""
        file = self.open_artifact(job_id, name)
        if file is None:
            return None
        path = self.artifacts_dir(job_id) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{name}.part")
        with file, partial.open("wb") as out:
            shutil.copyfileobj(file, out, 1 << 20)
        partial.replace(path)
        return path

    def presigned_url(self, job_id: str, name: str) -> str | None:
        """A presigned GET URL of the artifact when ``RA_STORAGE_PRESIGN`` is on; ``None``
        when off or when there is no such artifact (the API then answers 404 as usual)."""
        if not self.presign:
            return None
        key = self._artifact_key(job_id, name)
        if key is None:
            return None
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=PRESIGN_SECONDS
        )
        return url

    # -- what the API and the workers ask of any backend -----------------------------------

    def stored_bytes(self, job_id: str) -> int:
        return sum(int(entry["Size"]) for entry in self._list(self._key(job_id) + "/"))

    def discard_local(self, job_id: str) -> None:
        """Remove the scratch copies of the job's inputs (the bucket keeps the originals)."""
        shutil.rmtree(super().job_dir(job_id), ignore_errors=True)

    # -- deletion ---------------------------------------------------------------------------

    def delete(self, job_id: str) -> None:
        """Remove the job's objects: its marker first (from then on no write succeeds), then
        the rest, and the local copies."""
        self._call("delete_object", Key=self._key(job_id, _MARKER))
        keys = [entry["Key"] for entry in self._list(self._key(job_id) + "/")]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes 1000 keys at most
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            self._call("delete_objects", Delete={"Objects": batch, "Quiet": True})
        super().delete(job_id)

    def job_ids(self) -> list[str]:
        return sorted(self._markers())

    def _markers(self) -> dict[str, float]:
        """Job id -> creation time (seconds since the epoch) of every job's marker."""
        found: dict[str, float] = {}
        for entry in self._list(f"{self.prefix}jobs/"):
            parts = entry["Key"][len(self.prefix) :].split("/")
            if len(parts) == 3 and parts[2] == _MARKER and is_valid_job_id(parts[1]):
                found[parts[1]] = entry["LastModified"].timestamp()
        return found

    def sweep_expired(
        self, records: _RecordLookup, *, min_age_seconds: float = 3600.0
    ) -> list[str]:
        """Delete the payloads whose record is gone (markers younger than ``min_age_seconds``
        are kept: the API writes inputs before it creates the record)."""
        deleted = []
        cutoff = time.time() - min_age_seconds
        for job_id, created in sorted(self._markers().items()):
            if created > cutoff or records.exists(job_id):
                continue
            self.delete(job_id)
            deleted.append(job_id)
        return deleted
