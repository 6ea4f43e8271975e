"""Celery tasks: thin modules, one per job family; they take job ids, never payloads."""
