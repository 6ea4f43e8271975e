"""Schemathesis against the app in process: generated requests cause no 500s and every answer
matches the OpenAPI document (status codes, content types, schemas)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from service.main import create_app

AUTH = {"Authorization": "Bearer key-of-acme"}


def test_api_conforms_to_its_schema(settings):
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings))
    # /readyz is 503 by design here: no worker runs in unit tests (test_app covers it).
    operations = [op.ok() for op in schema.get_all_operations() if op.ok().path != "/readyz"]
    strategy = st.one_of(*(op.as_strategy() for op in operations))

    @seed(20261127)
    # Each example is an HTTP request to the app: schemathesis' strategies are slow to draw.
    @hypothesis_settings(max_examples=150, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case):
        # Random bytes are schema-valid file parts but not images, and a self-check's options
        # text is JSON the server validates beyond the form's schema: refusing them is right.
        submissions = ("/v1/jobs", "/v1/selfchecks")
        excluded = [positive_data_acceptance] if case.operation.path in submissions else []
        case.call_and_validate(headers=AUTH, excluded_checks=excluded)

    run()
