"""``restoration-audit serve`` on a port that is taken: said plainly, before anything starts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from cli.main import main
from runtime.launcher import PortInUseError, check_port_free


@pytest.fixture
def taken_port() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def test_a_taken_port_is_named(taken_port: socket.socket) -> None:
    port = taken_port.getsockname()[1]
    with pytest.raises(PortInUseError, match=f"port {port} is in use on 127.0.0.1"):
        check_port_free("127.0.0.1", port)


def test_a_free_port_passes() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    check_port_free("127.0.0.1", port)


def test_serve_on_a_taken_port_says_so_and_starts_nothing(
    taken_port: socket.socket,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("RA_API_KEYS", "RA_LOCAL_MODE"):
        monkeypatch.delenv(name, raising=False)
    port = taken_port.getsockname()[1]
    data = tmp_path / "data"
    code = main(["serve", "--port", str(port), "--data-dir", str(data)])
    assert code == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        f"restoration-audit serve: port {port} is in use on 127.0.0.1 (another "
        "restoration-audit serve, or another program); stop it or choose another port with --port"
    )
    assert "serving" not in captured.out + captured.err
    assert not data.exists()  # no Redis, no worker, no API were started
