"""JSON log lines and the job context they carry (``observability.logs``)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from observability.logs import (
    JobContextFilter,
    JsonLogFormatter,
    bind,
    configure_logging,
    job_context,
    make_formatter,
    start_context,
)


def _record(name: str = "app", msg: str = "hello %s", args: tuple = ("world",), **extra):
    record = logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def _line(record: logging.LogRecord) -> dict:
    JobContextFilter().filter(record)
    return json.loads(JsonLogFormatter().format(record))


def test_a_line_is_one_json_object_with_the_fixed_fields() -> None:
    line = _line(_record(custom=3))
    assert line["level"] == "WARNING"
    assert line["logger"] == "app"
    assert line["message"] == "hello world"
    assert line["timestamp"].endswith("+00:00")
    assert line["custom"] == 3
    assert "job_id" not in line
    assert "tenant" not in line


def test_an_exception_stays_inside_the_one_line() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        import sys

        record = _record(exc_info=sys.exc_info())
    text = JsonLogFormatter().format(record)
    assert "\n" not in text
    assert "ValueError: bad" in json.loads(text)["exc_info"]


def test_the_job_context_names_job_and_tenant_until_it_ends() -> None:
    with job_context("a" * 32, "acme"):
        inside = _line(_record())
        explicit = _line(_record(job_id="b" * 32))
    after = _line(_record())
    assert (inside["job_id"], inside["tenant"]) == ("a" * 32, "acme")
    assert explicit["job_id"] == "b" * 32, "a record naming its job keeps it"
    assert "job_id" not in after


def test_bind_fills_the_context_started_for_a_request() -> None:
    with job_context(None):
        start_context()
        bind(tenant="acme")
        bind(job_id="c" * 32)
        line = _line(_record())
    assert (line["job_id"], line["tenant"]) == ("c" * 32, "acme")


def test_uvicorn_access_arguments_become_fields() -> None:
    args = ("127.0.0.1:5000", "GET", "/v1/jobs/x", "1.1", 404)
    line = _line(_record("uvicorn.access", '%s - "%s %s HTTP/%s" %d', args, color_message="x"))
    assert line["message"] == '127.0.0.1:5000 - "GET /v1/jobs/x HTTP/1.1" 404'
    assert (line["http_method"], line["http_path"], line["http_status"]) == (
        "GET",
        "/v1/jobs/x",
        404,
    )
    assert "color_message" not in line


def test_text_format_is_one_plain_line() -> None:
    text = make_formatter("text").format(_record())
    assert text.endswith("WARNING app: hello world")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The process's logs, in JSON, into a buffer; the owned stderr handler again after."""
    buffer = io.StringIO()
    configure_logging("json", stream=buffer)
    try:
        yield buffer
    finally:
        configure_logging("json")


def test_configure_logging_replaces_its_handler_and_routes_uvicorn(captured) -> None:
    owned = [h for h in logging.getLogger().handlers if h.__class__.__name__ == "_OwnedHandler"]
    assert len(owned) == 1
    logging.getLogger("uvicorn.error").info("Started server process [1]")
    (line,) = [json.loads(text) for text in captured.getvalue().splitlines()]
    assert (line["logger"], line["message"]) == ("uvicorn.error", "Started server process [1]")
