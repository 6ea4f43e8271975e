"""Workers: the audit engine (estimators, engine, image I/O), the Celery app and the CLI."""
