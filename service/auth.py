"""Callers and tenants: API keys are looked up by their SHA-256 digest (hashed at rest)."""

from __future__ import annotations

import hashlib
import hmac

from api_schemas.problems import ProblemError
from service.errors import AuthenticationRequiredError
from service.settings import LOCAL_TENANT, ServiceSettings

_AUTHORIZATION_MISSING = ProblemError(part="authorization", message="no bearer token")
_KEY_UNKNOWN = ProblemError(part="authorization", message="unknown API key")


def tenant_for_key(settings: ServiceSettings, key: str) -> str | None:
    """The tenant whose key digest matches ``key`` (every digest compared in constant time)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    found = None
    for tenant, expected in settings.api_keys.items():
        if hmac.compare_digest(digest, expected):
            found = tenant
    return found


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authenticate(settings: ServiceSettings, key: str | None) -> str:
    """The caller's tenant: by its key, or ``local`` in local mode when it sends none.

    Raises:
        AuthenticationRequiredError: No key (outside local mode) or an unknown key.
    """
    if key is None:
        if settings.local_mode:
            return LOCAL_TENANT
        raise AuthenticationRequiredError(
            "send 'Authorization: Bearer <API key>'", errors=[_AUTHORIZATION_MISSING]
        )
    tenant = tenant_for_key(settings, key)
    if tenant is None:
        raise AuthenticationRequiredError("the API key is not known", errors=[_KEY_UNKNOWN])
    return tenant
