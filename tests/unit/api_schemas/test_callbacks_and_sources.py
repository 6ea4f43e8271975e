"""The rules of webhooks and sources shared by API and workers (api_schemas/callbacks.py,
api_schemas/sources.py, api_schemas/net.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api_schemas.callbacks import callback_url_problem, signature
from api_schemas.jobs import JobCreateOptions
from api_schemas.net import host_allowed
from api_schemas.setting_list import setting_list
from api_schemas.sources import file_path, source_uri_problem, under_root


def test_signature_matches_openssl() -> None:
    # printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac topsecret
    expected = "6a939b0c71853d606167625a15168ee9188c6a511c773ef4f42d307f3849e50f"
    assert signature("topsecret", 1700000000, b'{"a":1}') == f"v1={expected}"


@pytest.mark.parametrize(
    ("url", "local_mode", "problem"),
    [
        ("https://hooks.example.com/x", False, None),
        ("https://a.ci.example.org/x", False, None),
        ("https://ci.example.org/x", False, "not in RA_CALLBACK_ALLOWED_HOSTS"),
        ("https://evil.example.net/x", False, "not in RA_CALLBACK_ALLOWED_HOSTS"),
        ("http://hooks.example.com/x", True, "expected https"),
        ("http://127.0.0.1:9000/x", False, "expected https"),
        ("http://127.0.0.1:9000/x", True, None),
        ("ftp://hooks.example.com/x", False, "expected an https:// URL"),
        ("https://user:pw@hooks.example.com/x", False, "no credentials"),
        ("https://hooks.example.com:99999/x", False, "not a URL"),
    ],
)
def test_callback_urls(url: str, local_mode: bool, problem: str | None) -> None:
    allowed = ["hooks.example.com", "*.ci.example.org", "127.0.0.1"]
    found = callback_url_problem(url, allowed, local_mode=local_mode)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_host_allow_list() -> None:
    assert host_allowed("HOOKS.example.com.", ["hooks.example.com"])
    assert not host_allowed("hooks.example.com.evil.net", ["hooks.example.com"])
    assert not host_allowed("xexample.com", ["*.example.com"])
    assert not host_allowed("anything", [])


def test_settings_lists_take_json_or_commas() -> None:
    assert setting_list("a.com, *.b.com") == ["a.com", "*.b.com"]
    assert setting_list('["a.com"]') == ["a.com"]
    assert setting_list("") == []


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("https://data.example.com/a.png", None),
        ("https://other.example.com/a.png", "not in RA_SOURCE_ALLOWED_HOSTS"),
        ("http://data.example.com/a.png", "expected https"),
        ("http://127.0.0.1:8000/a.png", None),
        ("file:///datasets/div2k/a.png", None),
        ("file://localhost/datasets/a.png", None),
        ("file://host/datasets/a.png", "not a host"),
        ("file:///datasets/../etc/passwd", "not under a dataset root"),
        ("file:///datasets", "not under a dataset root"),
        ("file:///datasetsX/a.png", "not under a dataset root"),
        ("file:///etc/passwd", "not under a dataset root"),
        ("s3://bucket/a.png", "expected an https:// or file:// URI"),
    ],
)
def test_source_uris(uri: str, problem: str | None) -> None:
    found = source_uri_problem(
        uri,
        allowed_hosts=["data.example.com", "127.0.0.1"],
        dataset_roots=["/datasets"],
        local_mode=True,
    )
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found, found


def test_file_sources_are_off_without_roots() -> None:
    found = source_uri_problem(
        "file:///datasets/a.png", allowed_hosts=[], dataset_roots=[], local_mode=False
    )
    assert found is not None
    assert "RA_DATASET_ROOTS" in found


def test_file_paths_are_decoded_and_checked() -> None:
    assert file_path("file:///data/a%20b.png") == "/data/a b.png"
    assert under_root("/data/x/a.png", ["/data/"]) == "/data"
    assert under_root("/data/x/../../etc", ["/data"]) is None
    with pytest.raises(ValueError, match="absolute"):
        file_path("file:relative.png")


def test_sources_replace_pairs_and_keep_their_names() -> None:
    options = JobCreateOptions.model_validate(
        {
            "sources": [
                {"ground_truth": "file:///d/a.png", "restored": "file:///d/b.png", "id": "a"}
            ],
            "callback_url": "https://hooks.example.com/x",
        }
    )
    assert [spec.id for spec in options.pair_specs()] == ["a"]
    kept = options.audit_options().model_dump()
    assert "sources" not in kept
    assert "callback_url" not in kept
    with pytest.raises(ValidationError, match="not in pairs"):
        JobCreateOptions.model_validate(
            {
                "sources": [{"ground_truth": "file:///d/a", "restored": "file:///d/b"}],
                "pairs": [{"id": "a"}],
            }
        )
    with pytest.raises(ValidationError, match="duplicate pair id"):
        JobCreateOptions.model_validate(
            {
                "sources": [
                    {"ground_truth": "file:///d/a", "restored": "file:///d/b", "id": "a"},
                    {"ground_truth": "file:///d/c", "restored": "file:///d/d", "id": "a"},
                ]
            }
        )
