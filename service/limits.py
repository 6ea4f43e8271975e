"""Refuse requests before their body is read: declared oversizes and unknown callers; and run
submissions in threads of their own (``SubmissionPool``).

FastAPI's ``max_body_size`` enforces the limit while the body streams (the 413 then goes
through the problem handlers); but when ``Content-Length`` already says the body is too big,
Starlette answers a plain-text 413 itself. ``DeclaredBodyLimit`` answers those first, as
``application/problem+json``, without reading a byte of the body.

FastAPI reads (and spools) a request body before it runs dependencies, so without
``AuthenticateBeforeBody`` an unauthenticated caller could make the API spool a whole upload
before hearing 401.

A submission (inspecting every image header, storing the parts, queueing the job) runs in a
``SubmissionPool`` of ``RA_MAX_CONCURRENT_SUBMISSIONS`` threads, not in the threads that
serve the other routes: a flood of submissions waits its turn there while ``/healthz``,
``/readyz`` and polling keep their threads (and the cores the GIL lets them have).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from starlette.types import ASGIApp, Receive, Scope, Send

from api_schemas.problems import Problem, ProblemError
from service.auth import authenticate, bearer_token
from service.errors import AuthenticationRequiredError, problem_response
from service.settings import ServiceSettings

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class DeclaredBodyLimit:
    """Refuse requests whose ``Content-Length`` exceeds ``max_body_size`` (413)."""

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_size:
                detail = f"the body is {declared} bytes; at most {self.max_body_size} accepted"
                problem = Problem(
                    title="Content Too Large",
                    status=413,
                    detail=detail,
                    instance=scope.get("path"),
                    errors=[ProblemError(part="body", message=detail)],
                )
                response = problem_response(problem, {"Connection": "close"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class AuthenticateBeforeBody:
    """Answer 401 to body-carrying requests under ``/v1/`` before reading the body."""

    def __init__(self, app: ASGIApp, settings: ServiceSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in _BODY_METHODS
            and str(scope["path"]).startswith("/v1/")
        ):
            header = _header(scope, b"authorization")
            try:
                authenticate(self.settings, bearer_token(header))
            except AuthenticationRequiredError as exc:
                response = problem_response(exc.problem(instance=scope["path"]), exc.headers)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


T = TypeVar("T")


class SubmissionPool:
    """A fixed number of threads for submissions; callers beyond it wait in line."""

    def __init__(self, threads: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="submission")

    async def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` in one of the pool's threads, in the request's context (its log
        context included). A request whose client left before its turn never runs."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, context.run, work)

    def close(self) -> None:
        """Stop taking work; submissions already running finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)
