"""Settings fail fast on unsafe configuration and read RA_* variables."""

from __future__ import annotations

import hashlib
import json

import pytest
from pydantic import ValidationError

from service.settings import ServiceSettings, get_settings, is_loopback

DIGEST = hashlib.sha256(b"secret").hexdigest()


def test_reads_api_keys_as_json_from_environment(monkeypatch):
    monkeypatch.setenv("RA_API_KEYS", json.dumps({"acme": DIGEST.upper()}))
    monkeypatch.setenv("RA_MAX_PAIRS_PER_JOB", "8")
    settings = ServiceSettings()
    assert settings.api_keys == {"acme": DIGEST}
    assert settings.max_pairs_per_job == 8


def test_get_settings_is_cached(monkeypatch):
    monkeypatch.setenv("RA_LOCAL_MODE", "true")
    get_settings.cache_clear()
    try:
        assert get_settings() is get_settings()
    finally:
        get_settings.cache_clear()


def test_no_keys_outside_local_mode_is_refused():
    with pytest.raises(ValidationError, match="RA_API_KEYS"):
        ServiceSettings()


def test_local_mode_on_a_public_address_is_refused():
    with pytest.raises(ValidationError, match="loopback"):
        ServiceSettings(local_mode=True, host="0.0.0.0")
    assert ServiceSettings(local_mode=True, host="::1").local_mode


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"acme": "secret"}, "SHA-256 hex digest"),
        ({"ac me": DIGEST}, "must match"),
        ({"local": DIGEST}, "reserved"),
        ({"a": DIGEST, "b": DIGEST}, "share one API key"),
    ],
)
def test_bad_api_keys_are_refused(keys, message):
    with pytest.raises(ValidationError, match=message):
        ServiceSettings(api_keys=keys)


def test_links_follow_public_base_url():
    assert ServiceSettings(local_mode=True).jobs_url == "/v1/jobs"
    public = ServiceSettings(api_keys={"a": DIGEST}, public_base_url="https://x.example/api/")
    assert public.jobs_url == "https://x.example/api/v1/jobs"
    assert public.effective_broker_url == public.redis_url


def test_keys_win_over_local_mode(monkeypatch):
    # With keys configured, local mode is off whatever asked for it: every /v1 request then
    # needs a key, on loopback too (the launcher asks for local mode on loopback by default).
    assert not ServiceSettings(api_keys={"a": DIGEST}, local_mode=True).local_mode
    monkeypatch.setenv("RA_API_KEYS", json.dumps({"acme": DIGEST}))
    monkeypatch.setenv("RA_LOCAL_MODE", "true")
    assert not ServiceSettings().local_mode
    assert not ServiceSettings(local_mode=True, host="0.0.0.0").local_mode
    monkeypatch.delenv("RA_API_KEYS")
    assert ServiceSettings().local_mode


LOOPBACK = ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "0:0:0:0:0:0:0:1", "localhost"]
NOT_LOOPBACK = ["0.0.0.0", "::", "10.1.2.3", "128.0.0.1", "192.168.0.1", "example.com", ""]


@pytest.mark.parametrize("host", LOOPBACK)
def test_local_mode_binds_any_loopback_address(host):
    # One rule with the launcher: the whole of 127.0.0.0/8 and ::1 (serve --host 127.0.0.2
    # used to pass the launcher's check and crash the API on this one).
    assert is_loopback(host)
    assert ServiceSettings(local_mode=True, host=host).local_mode


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_local_mode_refuses_every_other_address(host):
    assert not is_loopback(host)
    with pytest.raises(ValidationError, match="loopback"):
        ServiceSettings(local_mode=True, host=host)
