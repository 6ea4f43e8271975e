"""Inputs by reference on the worker (workers/sources.py): fetched from a real local HTTP
server and from dataset roots, with the SSRF, size, time and path rules enforced."""

from __future__ import annotations

import io
import os
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from api_schemas.jobs import JobManifest, ManifestPair, ManifestSources
from api_schemas.options import AuditOptions
from tests.support.http_servers import ImageServer, Route
from workers.errors import AuditInputError
from workers.settings import WorkerSettings
from workers.sources import SourceError, checked_addresses, fetch_source, fetch_sources


def _png(seed: int = 0, side: int = 24) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _settings(root: Path | None = None, **overrides: Any) -> WorkerSettings:
    values: dict[str, Any] = {
        "local_mode": True,
        "source_allowed_hosts": ["127.0.0.1"],
        "source_allow_private_addresses": True,
        "dataset_roots": [str(root)] if root is not None else [],
        "source_timeout_seconds": 2.0,
        "source_max_bytes": 100_000,
    }
    values.update(overrides)
    return WorkerSettings(**values)


@pytest.fixture
def server() -> Any:
    with ImageServer() as running:
        yield running


def test_an_image_is_fetched_byte_for_byte(server: ImageServer, tmp_path: Path) -> None:
    data = _png()
    server.routes["/gt.png"] = Route(body=data)
    fetch_source(server.url("/gt.png"), tmp_path / "out", _settings())
    assert (tmp_path / "out").read_bytes() == data
    assert not list(tmp_path.glob("*.part"))


def test_a_redirect_on_the_same_host_is_followed(server: ImageServer, tmp_path: Path) -> None:
    server.routes["/old.png"] = Route(status=302, location="/new.png", body=b"")
    server.routes["/new.png"] = Route(body=_png(1))
    fetch_source(server.url("/old.png"), tmp_path / "out", _settings())
    assert (tmp_path / "out").read_bytes() == _png(1)


def test_a_redirect_to_another_host_is_not_followed(server: ImageServer, tmp_path: Path) -> None:
    # localhost is the same machine but another host name: the rule is the host, not the IP.
    server.routes["/away.png"] = Route(status=302, location=server.url("/gt.png", "localhost"))
    server.routes["/gt.png"] = Route(body=_png())
    with pytest.raises(SourceError, match="redirected to another host"):
        fetch_source(server.url("/away.png"), tmp_path / "out", _settings())
    assert "/gt.png" not in server.hits
    assert not (tmp_path / "out").exists()


def test_a_slow_loris_server_is_cut_off_at_the_deadline(
    server: ImageServer, tmp_path: Path
) -> None:
    # One byte every 50 ms: each read is quick, the whole transfer (about 20 s) is not.
    server.routes["/slow.png"] = Route(body=_png(side=16) * 4, trickle_seconds=0.05)
    with pytest.raises(SourceError, match=r"not fetched within 1 s"):
        fetch_source(server.url("/slow.png"), tmp_path / "out", _settings(source_timeout_seconds=1))
    assert not (tmp_path / "out").exists()


def test_an_oversized_body_is_refused(server: ImageServer, tmp_path: Path) -> None:
    server.routes["/big.png"] = Route(body=_png(side=64))  # about 12 kB
    with pytest.raises(SourceError, match="over 5000 bytes"):
        fetch_source(server.url("/big.png"), tmp_path / "out", _settings(source_max_bytes=5000))


def test_an_oversized_body_without_a_length_is_cut_off(server: ImageServer, tmp_path: Path) -> None:
    # No Content-Length: the body runs until the server closes, so only counting stops it.
    server.routes["/unsized.png"] = Route(body=_png(side=64), declared_length=-1)
    with pytest.raises(SourceError, match="over 5000 bytes"):
        fetch_source(server.url("/unsized.png"), tmp_path / "out", _settings(source_max_bytes=5000))
    assert not (tmp_path / "out").exists()


def test_a_wrong_content_type_is_refused(server: ImageServer, tmp_path: Path) -> None:
    server.routes["/page"] = Route(body=b"<html></html>", content_type="text/html")
    with pytest.raises(SourceError, match="content type 'text/html' is not an image type"):
        fetch_source(server.url("/page"), tmp_path / "out", _settings())


def test_bytes_that_are_not_an_accepted_image_are_refused(
    server: ImageServer, tmp_path: Path
) -> None:
    server.routes["/fake.png"] = Route(body=b"GIF89a" + bytes(64), content_type="image/png")
    with pytest.raises(SourceError, match="not a decodable image"):
        fetch_source(server.url("/fake.png"), tmp_path / "out", _settings())


def test_an_error_status_is_refused(server: ImageServer, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="HTTP 404"):
        fetch_source(server.url("/missing.png"), tmp_path / "out", _settings())


def test_loopback_addresses_need_the_private_switch(server: ImageServer, tmp_path: Path) -> None:
    server.routes["/gt.png"] = Route(body=_png())
    with pytest.raises(SourceError, match="private or local address"):
        fetch_source(
            server.url("/gt.png"),
            tmp_path / "out",
            _settings(source_allow_private_addresses=False),
        )
    assert server.hits == []  # refused before connecting


@pytest.mark.parametrize("address", ["10.1.2.3", "169.254.169.254", "192.168.0.1", "::1"])
def test_private_and_link_local_addresses_are_refused(address: str) -> None:
    with pytest.raises(SourceError, match="private or local address"):
        checked_addresses(address, 443, allow_private=False)


def test_a_public_address_passes() -> None:
    assert checked_addresses("8.8.8.8", 443, allow_private=False) == ["8.8.8.8"]


def test_a_host_off_the_allow_list_is_refused(server: ImageServer, tmp_path: Path) -> None:
    server.routes["/gt.png"] = Route(body=_png())
    with pytest.raises(SourceError, match="not in RA_SOURCE_ALLOWED_HOSTS"):
        fetch_source(server.url("/gt.png", "localhost"), tmp_path / "out", _settings())
    assert server.hits == []


def test_plain_http_needs_local_mode(server: ImageServer, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="expected https"):
        fetch_source(server.url("/gt.png"), tmp_path / "out", _settings(local_mode=False))


# -- file:// ------------------------------------------------------------------------------------


def test_a_file_under_a_root_is_copied(tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    (root / "set").mkdir(parents=True)
    (root / "set" / "a.png").write_bytes(_png(3))
    fetch_source(f"file://{root}/set/a.png", tmp_path / "out", _settings(root))
    assert (tmp_path / "out").read_bytes() == _png(3)


def test_dot_dot_cannot_leave_the_root(tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    root.mkdir()
    (tmp_path / "secret.png").write_bytes(_png())
    with pytest.raises(SourceError, match="not under a dataset root"):
        fetch_source(f"file://{root}/../secret.png", tmp_path / "out", _settings(root))
    with pytest.raises(SourceError, match="not under a dataset root"):
        fetch_source(f"file://{root}/%2e%2e/secret.png", tmp_path / "out", _settings(root))


def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(_png())
    os.symlink(outside / "secret.png", root / "link.png")
    os.symlink(outside, root / "dir")
    for uri in (f"file://{root}/link.png", f"file://{root}/dir/secret.png"):
        with pytest.raises(SourceError, match="resolves outside its dataset root"):
            fetch_source(uri, tmp_path / "out", _settings(root))
    assert not (tmp_path / "out").exists()


def test_a_symlink_inside_the_root_is_followed(tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    (root / "v1").mkdir(parents=True)
    (root / "v1" / "a.png").write_bytes(_png(5))
    os.symlink(root / "v1", root / "latest")
    fetch_source(f"file://{root}/latest/a.png", tmp_path / "out", _settings(root))
    assert (tmp_path / "out").read_bytes() == _png(5)


def test_a_directory_or_missing_file_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "datasets"
    (root / "d").mkdir(parents=True)
    with pytest.raises(SourceError, match="not a regular file"):
        fetch_source(f"file://{root}/d", tmp_path / "out", _settings(root))
    with pytest.raises(SourceError, match="no such file"):
        fetch_source(f"file://{root}/none.png", tmp_path / "out", _settings(root))


def test_file_sources_are_off_without_roots(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(_png())
    with pytest.raises(SourceError, match="RA_DATASET_ROOTS"):
        fetch_source(f"file://{tmp_path}/a.png", tmp_path / "out", _settings(None))


def test_a_failing_source_names_its_pair_and_role(server: ImageServer, tmp_path: Path) -> None:
    server.routes["/gt.png"] = Route(body=_png())
    server.routes["/bad"] = Route(body=b"nope", content_type="text/plain")
    manifest = JobManifest(
        job_id="0" * 32,
        tenant="local",
        created_at=datetime.now(UTC),
        options=AuditOptions(),
        pairs=[
            ManifestPair(
                id="cat",
                ground_truth="source-00000-ground_truth",
                restored="source-00000-restored",
                sources=ManifestSources(
                    ground_truth=server.url("/gt.png"), restored=server.url("/bad")
                ),
            )
        ],
    )
    with pytest.raises(AuditInputError) as caught:
        fetch_sources(manifest, tmp_path, _settings())
    assert caught.value.part == "options.sources[0].restored"
    assert "pair 'cat', restored" in str(caught.value)


# -- https: the checked address is dialled, the certificate is verified against the name -------


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for the DNS name ``name`` and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _tls_server(cert: Path, key: Path) -> ImageServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return ImageServer(tls=context)


def test_https_is_verified_against_the_host_name_while_dialling_the_checked_address(
    tmp_path: Path,
) -> None:
    # The URL names "localhost"; the worker connects to the address it checked (127.0.0.1 or
    # ::1) and still verifies the certificate against "localhost" (TLS server name).
    cert, key = _self_signed(tmp_path, "localhost")
    settings = _settings(
        local_mode=False, source_allowed_hosts=["localhost"], source_ca_bundle=cert
    )
    with _tls_server(cert, key) as server:
        server.routes["/gt.png"] = Route(body=_png(7))
        fetch_source(server.url("/gt.png", "localhost"), tmp_path / "out", settings)
    assert (tmp_path / "out").read_bytes() == _png(7)


def test_https_with_a_certificate_for_another_name_is_refused(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "images.example.com")
    settings = _settings(
        local_mode=False, source_allowed_hosts=["localhost"], source_ca_bundle=cert
    )
    with _tls_server(cert, key) as server:
        server.routes["/gt.png"] = Route(body=_png())
        with pytest.raises(SourceError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
            fetch_source(server.url("/gt.png", "localhost"), tmp_path / "out", settings)
        assert server.hits == []  # nothing was asked of a server that is not the name's
