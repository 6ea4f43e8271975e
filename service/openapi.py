"""The OpenAPI document as generated clients need it.

- Uploaded files are described by FastAPI (OpenAPI 3.1) with ``contentMediaType`` only;
  generators type those as strings, so ``format: binary`` is added (PLATFORM.md).
- Error answers are ``application/problem+json`` with the ``Problem`` schema, FastAPI's
  default 422 ``HTTPValidationError`` included.
- The ``options`` form part is declared as JSON in the multipart encoding.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api_schemas.problems import PROBLEM_MEDIA_TYPE, Problem

_PROBLEM_REF = "#/components/schemas/Problem"


def operation_id(route: APIRoute) -> str:
    """Operation ids are the endpoint function names: ``create_job``, ``get_job``..."""
    return route.name


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting problem answers for ``statuses``."""
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase} for status in statuses
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
        # The server also takes the JSON as a file part; clients should send text.
        body["options"]["anyOf"] = [{"type": "string"}, {"type": "null"}]
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


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the adjusted, cached document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            _add_binary_format(schema)
            _problem_content(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
