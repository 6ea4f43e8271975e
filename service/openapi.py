"""The OpenAPI document as generated clients need it.

- Uploaded files are described by FastAPI (OpenAPI 3.1) with ``contentMediaType`` only;
  generators type those as strings, so ``format: binary`` is added (PLATFORM.md).
- Error answers are ``application/problem+json`` with the ``Problem`` schema, FastAPI's
  default 422 ``HTTPValidationError`` included.
- The ``options`` form part is declared as JSON in the multipart encoding, typed by the
  ``JobCreateOptions`` component (the server validates that model), so generated clients
  build a typed object and send it as one JSON part.
- ``servers`` names the host that serves the document (a relative URL), the health routes
  declare that they need no key (``security: []``) and ``info.license`` names the licence:
  the document lints clean with Redocly's recommended rules (tools/openapi).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic.json_schema import models_json_schema

from api_schemas.jobs import JobCreateOptions
from api_schemas.problems import PROBLEM_MEDIA_TYPE, Problem

_PROBLEM_REF = "#/components/schemas/Problem"
_COMPONENT_REF = "#/components/schemas/{model}"
SERVERS = [
    {
        "url": "/",
        "description": "the host that serves this document (`restoration-audit serve`: "
        "http://127.0.0.1:8000)",
    }
]
LICENSE = {"name": "Apache-2.0", "identifier": "Apache-2.0"}
UNAUTHENTICATED_PATHS = ("/healthz", "/readyz")
"""Routes that need no API key (the probes of orchestrators)."""


def operation_id(route: APIRoute) -> str:
    """Operation ids are the endpoint function names: ``create_job``, ``get_job``..."""
    return route.name


ETAG_HEADER: dict[str, Any] = {
    "description": "Version of the representation.",
    "schema": {"type": "string"},
}
RETRY_AFTER_HEADER: dict[str, Any] = {
    "description": "Seconds to wait before polling again.",
    "schema": {"type": "integer"},
}
POLL_HEADERS: dict[str, Any] = {"ETag": ETAG_HEADER, "Retry-After": RETRY_AFTER_HEADER}
"""Headers of a job's or a self-check's state: poll again after ``Retry-After`` seconds with
the ``ETag`` in ``If-None-Match``."""


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting problem answers for ``statuses``."""
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase} for status in statuses
    }


def accepted_response(what: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of a submission's 202: ``what`` (``job``, ``self-check``) is
    queued, at the ``Location`` to poll with the poll headers."""
    location = {"description": f"URL of the {what}.", "schema": {"type": "string"}}
    return {
        202: {
            "description": f"Accepted: the {what} is queued.",
            "headers": {"Location": location, **POLL_HEADERS},
        }
    }


def monitor_responses(what: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a monitor's GET: ``what`` (``job``, ``self-check``) with the poll
    headers, 304 on a matching ``If-None-Match``, and the problems of a job id."""
    return {
        200: {"description": f"The {what}.", "headers": POLL_HEADERS},
        304: {"description": "Not modified"},
        **problem_responses(401, 404),
    }


def _add_binary_format(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("contentMediaType") == (
            "application/octet-stream"
        ):
            node["format"] = "binary"
        for value in node.values():
            _add_binary_format(value)
    elif isinstance(node, list):
        for value in node:
            _add_binary_format(value)


def _problem_content(schema: dict[str, Any]) -> None:
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if not status.isdigit() or int(status) < 400:
                    continue
                response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}}
            body = operation.get("requestBody", {}).get("content", {})
            if "multipart/form-data" in body:
                body["multipart/form-data"]["encoding"] = {
                    "options": {"contentType": "application/json"}
                }
    components = schema.get("components", {}).get("schemas", {})
    body = components.get("Body_create_job", {}).get("properties", {})
    if "options" in body:
        # One JSON part typed by the model the server validates (the server also takes the
        # JSON as a file part, or as plain text).
        description = body["options"].get("description")
        body["options"] = {"$ref": _COMPONENT_REF.format(model=JobCreateOptions.__name__)}
        if description:
            body["options"]["description"] = description
        _add_components(components, JobCreateOptions)
    selfcheck = components.get("Body_create_selfcheck", {}).get("properties", {})
    if "options" in selfcheck:
        # JSON text of a SelfCheckCreate (a schema of the document, for generators).
        selfcheck["options"] = {
            "type": "string",
            "title": "Options",
            "description": selfcheck["options"].get("description", ""),
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/SelfCheckCreate"},
            "examples": ['{"degradation": "noise:0.05", "images": 4, "size": 64}'],
        }
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def _add_components(components: dict[str, Any], model: type[JobCreateOptions]) -> None:
    """Publish ``model``'s request schema and the models it refers to as components."""
    _, definitions = models_json_schema([(model, "validation")], ref_template=_COMPONENT_REF)
    for name, definition in definitions.get("$defs", {}).items():
        present = components.setdefault(name, definition)
        if present != definition:  # a name shared by two different schemas: fix the model names
            raise RuntimeError(f"OpenAPI component {name!r} has two different schemas")


def _unauthenticated(schema: dict[str, Any]) -> None:
    for path in UNAUTHENTICATED_PATHS:
        for operation in schema.get("paths", {}).get(path, {}).values():
            if isinstance(operation, dict):
                operation["security"] = []


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the adjusted, cached document."""

    app.servers = SERVERS
    app.license_info = LICENSE

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # FastAPI's own document of the app (it caches it on app.openapi_schema), adjusted.
            schema = FastAPI.openapi(app)
            _add_binary_format(schema)
            _problem_content(schema)
            _unauthenticated(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
