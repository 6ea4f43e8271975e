"""Answer oversized requests with a problem document before reading their body.

FastAPI's ``max_body_size`` enforces the limit while the body streams (the 413 then goes
through the problem handlers); but when ``Content-Length`` already says the body is too big,
Starlette answers a plain-text 413 itself. This middleware answers those first, as
``application/problem+json``, without reading a byte of the body.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api_schemas.problems import Problem
from service.errors import problem_response


class DeclaredBodyLimit:
    """Refuse requests whose ``Content-Length`` exceeds ``max_body_size`` (413)."""

    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = app
        self.max_body_size = max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_size:
                problem = Problem(
                    title="Content Too Large",
                    status=413,
                    detail=f"the body is {declared} bytes; at most {self.max_body_size} accepted",
                    instance=scope.get("path"),
                )
                response = problem_response(problem, {"Connection": "close"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
