"""The FastAPI application: routers, limits, error handlers and the OpenAPI adjustments."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from observability.logs import configure_logging
from service import errors, openapi
from service.images import configure_pillow
from service.limits import AuthenticateBeforeBody, DeclaredBodyLimit, SubmissionPool
from service.logcontext import JobLogContextMiddleware
from service.metrics import metrics_registry
from service.resources import Resources
from service.routes import health, jobs, selfchecks
from service.settings import ServiceSettings, get_settings
from service.submission import MAX_OPTIONS_BYTES

API_VERSION = "1.0.0"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Build the app for ``settings`` (the environment's when ``None``); connects lazily."""
    settings = settings or get_settings()
    # Here, in the factory uvicorn calls after configuring its own logging, so that its
    # handlers are replaced too and its error and access lines come out in the same format.
    configure_logging(settings.log_format, settings.log_level)
    resources = Resources.from_settings(settings)
    configure_pillow()
    submission_pool = SubmissionPool(settings.max_concurrent_submissions)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        submission_pool.close()
        resources.close()

    app = FastAPI(
        title="restoration-audit",
        version=API_VERSION,
        summary="Audit image-restoration models for hallucinations.",
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        form_limits={
            "max_files": 3 * settings.max_pairs_per_job + 1,  # + options sent as a file
            "max_fields": 8,
            "max_part_size": MAX_OPTIONS_BYTES,
        },
    )
    app.state.resources = resources
    app.state.submission_pool = submission_pool
    app.state.metrics_registry = metrics_registry(resources)
    app.add_middleware(AuthenticateBeforeBody, settings=settings)
    app.add_middleware(DeclaredBodyLimit, max_body_size=settings.max_body_bytes)
    # Added last, so outermost: every line of a request, the limits' included, sees its context.
    app.add_middleware(JobLogContextMiddleware)
    # Limits per router, not per app: an app-level limit answers plain text before the
    # problem handlers see it. DeclaredBodyLimit answers declared oversizes up front.
    app.include_router(jobs.router, max_body_size=settings.max_body_bytes)
    app.include_router(selfchecks.router, max_body_size=settings.max_body_bytes)
    app.include_router(health.router, max_body_size=0)
    if settings.metrics_enabled:
        app.include_router(health.metrics_router, max_body_size=0)
    errors.install(app)
    openapi.install(app)
    return app


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document, without needing any ``RA_*`` configuration or a Redis server.

    Serving refuses to start without API keys or local mode; documenting does not need them.
    """
    return create_app(ServiceSettings(local_mode=True, host="127.0.0.1")).openapi()
