"""How a list setting reads from the environment, for the API's and the workers' settings.

Kept apart from :mod:`api_schemas.net` (whose rules the report models and the command use) so
that importing those rules does not load pydantic-settings.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator
from pydantic_settings import NoDecode


def setting_list(value: object) -> object:
    """A list setting from the environment: a JSON array or comma-separated names
    (``RA_CALLBACK_ALLOWED_HOSTS=hooks.example.com,*.ci.example.com``); other values pass."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        import json

        return json.loads(text)
    return [item.strip() for item in text.split(",") if item.strip()]


SettingList = Annotated[list[str], NoDecode, BeforeValidator(setting_list)]
"""The type of a list setting read by ``setting_list`` (the API's and the workers' host
allow-lists and dataset roots), so each process parses it by the one rule."""
