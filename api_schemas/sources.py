"""Inputs by reference: a job may list ``sources`` (URIs) instead of uploading file parts.

Each entry names one pair's ground truth, restoration and (optionally) observation by URI, with
the same id, group, input and sample fields a ``PairSpec`` has. A URI is either

* ``https://host/...`` with ``host`` in ``RA_SOURCE_ALLOWED_HOSTS`` (plain ``http`` only to a
  loopback host in local mode), fetched by the worker with a size limit, a whole-transfer
  timeout, a content-type check, no redirect to another host, and no connection to a private,
  loopback or link-local address unless ``RA_SOURCE_ALLOW_PRIVATE_ADDRESSES`` (the worker
  resolves the host, checks every address and connects to the checked one, so a DNS answer
  that changes between check and connect cannot redirect it); or
* ``file:///path`` under one of the operator's ``RA_DATASET_ROOTS``, read by the worker after
  resolving symlinks, which must stay inside the root.

What is checked here needs no I/O (scheme, host on the allow-list, path lexically under a
root), so the API refuses a bad URI with a 422 at submission; the worker checks again and does
what needs I/O. The fetched bytes pass the same image-acceptance policy as uploads
(``api_schemas.images``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Final
from urllib.parse import unquote, urlsplit

from api_schemas.net import remote_host_problem

SOURCE_ROLES: Final = ("ground_truth", "restored", "observation")
ACCEPTED_CONTENT_TYPES: Final = frozenset(
    {"image/png", "image/jpeg", "image/tiff", "image/webp", "application/octet-stream"}
)
"""Content types a fetched source may declare: the accepted image formats, and a generic
binary type (object stores often serve that); the bytes are then checked as images anyway."""


def file_path(uri: str) -> str:
    """The local path of a ``file://`` URI (percent-decoded); ``file://localhost/x`` too.

    Raises:
        ValueError: Not a ``file://`` URI of this machine, or not an absolute path.
    """
    parts = urlsplit(uri)
    if parts.scheme != "file":
        raise ValueError("not a file:// URI")
    if parts.netloc not in ("", "localhost"):
        raise ValueError("a file:// URI names a path on the worker, not a host")
    if parts.query or parts.fragment:
        raise ValueError("a file:// URI has no query and no fragment")
    path = unquote(parts.path)
    if not path.startswith("/") or "\x00" in path:
        raise ValueError("expected an absolute path")
    return path


def under_root(path: str, roots: Sequence[str]) -> str | None:
    """The root that lexically contains ``path`` (after normalising ``..``), or ``None``."""
    normal = posixpath.normpath(path)
    if normal != path:
        return None  # a path spelt with '..', '.' or '//' is refused rather than interpreted
    for root in roots:
        base = posixpath.normpath(root)
        if normal.startswith(base.rstrip("/") + "/"):
            return base
    return None


def source_uri_problem(
    uri: str,
    *,
    allowed_hosts: Sequence[str],
    dataset_roots: Sequence[str],
    local_mode: bool,
) -> str | None:
    """Why ``uri`` may not be read, as far as that is known without I/O; ``None`` when it may.

    The rule of the module docstring: ``https`` to an allowed host (``http`` to a loopback
    host in local mode), or ``file://`` lexically under a dataset root.
    """
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        return f"not a URI: {exc}"
    if parts.scheme == "file":
        try:
            path = file_path(uri)
        except ValueError as exc:
            return str(exc)
        if not dataset_roots:
            return "file:// sources are off: the operator configures RA_DATASET_ROOTS"
        if under_root(path, dataset_roots) is None:
            return "the path is not under a dataset root (RA_DATASET_ROOTS) or uses '..'"
        return None
    if parts.scheme not in ("https", "http"):
        return "expected an https:// or file:// URI"
    try:
        host = parts.hostname or ""
        _ = parts.port
    except ValueError as exc:
        return f"not a URI: {exc}"
    if not host:
        return "expected a host"
    if parts.username is not None or parts.password is not None:
        return "a source URI carries no credentials"
    return remote_host_problem(
        parts.scheme, host, allowed_hosts, "RA_SOURCE_ALLOWED_HOSTS", local_mode=local_mode
    )
