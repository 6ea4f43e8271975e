"""The HTTP front end of restoration-audit (FastAPI); never imports the workers or torch."""

from service.main import create_app, openapi_document
from service.settings import ServiceSettings, get_settings

__all__ = ["ServiceSettings", "create_app", "get_settings", "openapi_document"]
