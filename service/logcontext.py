"""Gives every HTTP request its own job log context (``observability.logs``).

The dependencies that learn who calls and which job a request is about fill it in
(``service.deps.get_tenant``, ``get_owned_job``, the submission once it has made the job id),
so every line logged for the request, uvicorn's access line included, carries ``tenant`` and
``job_id``. A request for another tenant's job never gets that job's id: ``get_owned_job``
binds the id only after the ownership check.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from observability.logs import start_context


class JobLogContextMiddleware:
    """Starts a fresh, empty log context for each HTTP request (pure ASGI, no body buffering).

    uvicorn runs each request in its own task, whose context this sets; the access line is
    logged from that task when the response starts, so it sees what the request bound.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            start_context()
        await self.app(scope, receive, send)
