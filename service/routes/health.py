"""Liveness and readiness (no authentication), and the operators' ``/metrics``.

``/metrics`` is left out of the OpenAPI document: it is for Prometheus, not for the clients
generated from that document, and its body is Prometheus text, not a JSON schema. It is open
unless ``RA_METRICS_TOKEN_SHA256`` is set, and absent when ``RA_METRICS_ENABLED`` is false
(``service.main`` then does not include ``metrics_router``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel

from service.deps import ResourcesDep
from service.health import check_ready
from service.metrics import PROMETHEUS_TEXT, check_metrics_token, exposition
from service.openapi import problem_responses

router = APIRouter(tags=["health"])
metrics_router = APIRouter()


class Health(BaseModel):
    """A passing health check and, for readiness, what was checked."""

    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process serves HTTP (answered on the event loop, needing no thread)."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses=problem_responses(503))
def readyz(resources: ResourcesDep) -> Health:
    """Readiness: Redis takes writes, the payload store has room (``storage: full`` when its
    disk is below its reserve or Redis cannot persist) and a worker answers."""
    return Health(status="ready", checks=check_ready(resources))


@metrics_router.get("/metrics", include_in_schema=False)
def metrics(
    request: Request,
    resources: ResourcesDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Prometheus metrics (``service.metrics``), read from Redis and the broker now."""
    check_metrics_token(resources.settings, authorization)
    body = exposition(request.app.state.metrics_registry)
    return Response(body, media_type=PROMETHEUS_TEXT)
