"""Inputs by reference: the worker fetches a job's ``sources`` into its input directory.

The rule of ``api_schemas.sources`` is checked again here (the API checked what it could
without I/O), then what needs I/O:

* ``https://`` (``http://`` to loopback in local mode): the host is resolved and every address
  checked (no private, loopback, link-local, multicast or reserved address unless
  ``RA_SOURCE_ALLOW_PRIVATE_ADDRESSES``); the connection goes to the checked address (the URL's
  host name stays in ``Host`` and in TLS's server name, so the certificate is verified against
  it), so a DNS answer that changes between check and connect (DNS rebinding) is never used.
  Redirects are followed only to the same scheme, host and port, a few hops at most, each hop
  checked alike. The answer must be 200 with an image content type, at most
  ``RA_SOURCE_MAX_BYTES``, and arrive whole within ``RA_SOURCE_TIMEOUT_SECONDS`` (a deadline on
  the whole transfer, so a server trickling bytes is cut off too).
* ``file://``: the path, lexically under a dataset root, is resolved (symlinks included) and
  must still be under the resolved root; it must be a regular file within the size limit.

Every fetched file then passes the image-acceptance policy of uploads
(``api_schemas.images.inspect_image``). A failure is an ``AuditInputError`` whose part is
``options.sources[i].<role>`` (the name the API's 422 uses) and whose message names the pair.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Final
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from api_schemas.images import InvalidImageError, inspect_image
from api_schemas.jobs import JobManifest
from api_schemas.sources import (
    ACCEPTED_CONTENT_TYPES,
    SOURCE_ROLES,
    file_path,
    source_uri_problem,
    under_root,
)
from workers.errors import AuditInputError
from workers.settings import WorkerSettings

MAX_REDIRECTS: Final = 3
_CHUNK: Final = 1 << 16


class SourceError(Exception):
    """A source cannot be read; the message says why (no pair named yet)."""


def fetch_sources(
    manifest: JobManifest,
    input_dir: Path,
    settings: WorkerSettings,
    before_write: Callable[[], None] = lambda: None,
) -> None:
    """Fetch every source of the manifest's pairs to the path the manifest names.

    ``before_write`` runs before each file is written (the audit task checks it still holds
    the job there).

    Raises:
        AuditInputError: A source cannot be read or is not an accepted image; the part is
            ``options.sources[i].<role>``.
    """
    for i, pair in enumerate(manifest.pairs):
        if pair.sources is None:
            continue
        for role in SOURCE_ROLES:
            uri = getattr(pair.sources, role)
            name = getattr(pair, role)
            if uri is None or name is None:
                continue
            part = f"options.sources[{i}].{role}"
            before_write()
            try:
                fetch_source(uri, input_dir / name, settings)
            except SourceError as exc:
                raise AuditInputError(f"pair {pair.id!r}, {role}: {exc}", part=part) from exc


def fetch_source(uri: str, target: Path, settings: WorkerSettings) -> None:
    """Write the source ``uri`` to ``target`` (atomically), or raise ``SourceError``."""
    problem = _uri_problem(uri, settings)
    if problem is not None:
        raise SourceError(problem)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("wb") as out:
            if urlsplit(uri).scheme == "file":
                _copy_file(uri, out, settings)
            else:
                _download(uri, out, settings)
        with partial.open("rb") as fp:
            try:
                inspect_image(fp, settings.image_limits)
            except InvalidImageError as exc:
                raise SourceError(str(exc)) from None
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _uri_problem(uri: str, settings: WorkerSettings) -> str | None:
    return source_uri_problem(
        uri,
        allowed_hosts=settings.source_allowed_hosts,
        dataset_roots=settings.dataset_roots,
        local_mode=settings.local_mode,
    )


# -- file:// ----------------------------------------------------------------------------------


def resolve_in_root(uri: str, roots: list[str]) -> Path:
    """The real path of a ``file://`` source, checked to stay under its dataset root after
    every symlink is resolved.

    Raises:
        SourceError: Not under a root, or a symlink leads out of it, or the file is missing.
    """
    try:
        path = file_path(uri)
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    root = under_root(path, roots)
    if root is None:
        raise SourceError("the path is not under a dataset root (RA_DATASET_ROOTS)")
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root or real == real_root:
        raise SourceError("the path resolves outside its dataset root (a symlink leads out)")
    return Path(real)


def _copy_file(uri: str, out: BinaryIO, settings: WorkerSettings) -> None:
    real = resolve_in_root(uri, settings.dataset_roots)
    try:
        # O_NOFOLLOW: the resolved path's last component cannot have become a symlink since.
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise SourceError("no such file") from None
    except OSError as exc:
        raise SourceError(f"cannot open the file ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise SourceError("not a regular file")
    with os.fdopen(fd, "rb") as src:
        if info.st_size > settings.source_max_bytes:
            raise SourceError(f"over {settings.source_max_bytes} bytes ({info.st_size})")
        copied = 0
        while chunk := src.read(_CHUNK):
            copied += len(chunk)
            if copied > settings.source_max_bytes:
                raise SourceError(f"over {settings.source_max_bytes} bytes")
            out.write(chunk)


# -- https:// ---------------------------------------------------------------------------------


def checked_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses of ``host`` to connect to, in resolver order, after checking every one.

    Raises:
        SourceError: The name does not resolve, or resolves to a private, loopback,
            link-local, multicast or reserved address while those are not allowed.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise SourceError(f"host {host!r} does not resolve ({exc})") from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not allow_private and not _public(address):
            raise SourceError(
                f"host {host!r} resolves to {address}, a private or local address "
                "(RA_SOURCE_ALLOW_PRIVATE_ADDRESSES is off)"
            )
        addresses.append(address)
    if not addresses:
        raise SourceError(f"host {host!r} does not resolve")
    return list(dict.fromkeys(str(address) for address in addresses))


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _download(uri: str, out: BinaryIO, settings: WorkerSettings) -> None:
    deadline = time.monotonic() + settings.source_timeout_seconds
    url = uri
    verify: ssl.SSLContext | bool = True
    if settings.source_ca_bundle is not None:
        verify = ssl.create_default_context(cafile=str(settings.source_ca_bundle))
    with httpx.Client(follow_redirects=False, trust_env=False, verify=verify) as client:
        for _ in range(MAX_REDIRECTS + 1):
            location = _get(client, url, out, settings, deadline)
            if location is None:
                return
            problem = _redirect_problem(url, location)
            if problem is not None:
                raise SourceError(problem)
            problem = _uri_problem(location, settings)
            if problem is not None:
                raise SourceError(f"redirected to a refused URI: {problem}")
            url = location
    raise SourceError(f"more than {MAX_REDIRECTS} redirects")


def _redirect_problem(url: str, location: str) -> str | None:
    old, new = urlsplit(url), urlsplit(location)
    if (old.scheme, old.hostname, old.port) != (new.scheme, new.hostname, new.port):
        return f"redirected to another host ({new.scheme}://{new.netloc}); not followed"
    return None


def _get(
    client: httpx.Client, url: str, out: BinaryIO, settings: WorkerSettings, deadline: float
) -> str | None:
    """GET ``url`` through one of its checked addresses into ``out`` (the next one when a
    connection is refused); the redirect target or ``None``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    allow_private = settings.source_allow_private_addresses
    addresses = checked_addresses(host, port, allow_private=allow_private)
    for i, address in enumerate(addresses):
        try:
            return _get_from(client, url, address, out, settings, deadline)
        except httpx.ConnectError as exc:  # refused, unreachable, or TLS verification failed
            if i == len(addresses) - 1:
                reason = str(exc)[:300]
                raise SourceError(f"cannot connect to {host!r} on port {port}: {reason}") from None
    raise AssertionError("unreachable: checked_addresses returns at least one address")


def _get_from(
    client: httpx.Client,
    url: str,
    address: str,
    out: BinaryIO,
    settings: WorkerSettings,
    deadline: float,
) -> str | None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = f"[{address}]" if ":" in address else address
    direct = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    host_header = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SourceError(f"not fetched within {settings.source_timeout_seconds:g} s")
    try:
        with client.stream(
            "GET",
            direct,
            headers={"Host": host_header, "Accept": "image/*", "Accept-Encoding": "identity"},
            extensions=extensions,
            timeout=httpx.Timeout(remaining),
        ) as response:
            if response.is_redirect:
                return urljoin(url, str(response.headers.get("location", "")))
            if response.status_code != 200:
                raise SourceError(f"the server answered HTTP {response.status_code}")
            media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type not in ACCEPTED_CONTENT_TYPES:
                raise SourceError(
                    f"content type {media_type or 'none'!r} is not an image type "
                    f"({', '.join(sorted(ACCEPTED_CONTENT_TYPES))})"
                )
            limit = settings.source_max_bytes
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise SourceError(f"over {limit} bytes (Content-Length {declared})")
            received = 0
            for chunk in response.iter_bytes():  # as received: a chunk size would buffer
                received += len(chunk)
                if received > limit:
                    raise SourceError(f"over {limit} bytes")
                if time.monotonic() > deadline:
                    raise SourceError(f"not fetched within {settings.source_timeout_seconds:g} s")
                out.write(chunk)
            return None
    except httpx.ConnectError:
        raise  # the caller tries the host's next address
    except httpx.TimeoutException:
        raise SourceError(f"not fetched within {settings.source_timeout_seconds:g} s") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"the request failed ({type(exc).__name__}: {exc})") from None
