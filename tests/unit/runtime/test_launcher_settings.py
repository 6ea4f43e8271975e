"""What ``restoration-audit serve`` tells the API about keys and local mode, decided by the
service's settings before anything starts (no process is started here)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from runtime.launcher import Launcher, UnsafeBindError, serve_main

DIGEST = hashlib.sha256(b"key-of-acme").hexdigest()


@pytest.fixture(autouse=True)
def _no_ra_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RA_API_KEYS", "RA_LOCAL_MODE", "RA_HOST", "RA_REDIS_URL", "RA_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_loopback_without_keys_is_local_mode() -> None:
    assert Launcher(host="127.0.0.1").check_safe() == {
        "RA_HOST": "127.0.0.1",
        "RA_LOCAL_MODE": "true",
    }


@pytest.mark.parametrize("local_mode", [None, "true", "false"])
def test_keys_turn_local_mode_off_on_loopback_whatever_ra_local_mode_says(
    monkeypatch: pytest.MonkeyPatch, local_mode: str | None
) -> None:
    monkeypatch.setenv("RA_API_KEYS", json.dumps({"acme": DIGEST}))
    if local_mode is not None:
        monkeypatch.setenv("RA_LOCAL_MODE", local_mode)
    assert Launcher(host="127.0.0.1").check_safe()["RA_LOCAL_MODE"] == "false"


def test_keys_serve_a_public_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RA_API_KEYS", json.dumps({"acme": DIGEST}))
    monkeypatch.setenv("RA_LOCAL_MODE", "true")
    assert Launcher(host="0.0.0.0").check_safe() == {
        "RA_HOST": "0.0.0.0",
        "RA_LOCAL_MODE": "false",
    }


def test_local_mode_turned_off_without_keys_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RA_LOCAL_MODE", "false")
    with pytest.raises(UnsafeBindError, match="configure RA_API_KEYS"):
        Launcher(host="127.0.0.1").check_safe()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (json.dumps({"acme": "the-key-itself"}), "RA_API_KEYS: api_keys['acme'] must be the"),
        ("{not json", "api_keys"),
    ],
)
def test_settings_the_api_would_refuse_are_one_line_usage_errors(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    keys: str,
    message: str,
) -> None:
    monkeypatch.setenv("RA_API_KEYS", keys)
    assert serve_main(["--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("restoration-audit serve: the API would refuse its settings: ")
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.0.0.2", "127.9.9.9", "::1", "localhost", "0.0.0.0", "::", "10.1.2.3"],
)
def test_the_launcher_and_the_settings_share_one_loopback_rule(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    # Whatever the launcher decides for a host, the API accepts: it either refuses up front
    # (usage error) or hands the API settings that validate, never a crash in the API.
    from service.settings import ServiceSettings, is_loopback

    try:
        api_env = Launcher(host=host).check_safe()
    except UnsafeBindError:
        assert not is_loopback(host)
        return
    assert is_loopback(host)
    assert api_env["RA_LOCAL_MODE"] == "true"
    for name, value in api_env.items():
        monkeypatch.setenv(name, value)
    assert ServiceSettings().local_mode


def test_an_ipv6_api_url_has_brackets() -> None:
    assert Launcher(host="::1", port=8000).api_url == "http://[::1]:8000"
    assert Launcher(host="127.0.0.2", port=8000).api_url == "http://127.0.0.2:8000"
