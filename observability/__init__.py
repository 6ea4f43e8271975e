"""Structured logs and service metrics shared by the API and the workers.

Neither FastAPI nor Celery: both sides import it; what is Celery-specific (signal receivers)
stays in ``workers.logs`` and what is HTTP-specific in ``service.logcontext``/``service.metrics``.
"""
