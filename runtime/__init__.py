"""Process supervision: the launcher that runs Redis, uvicorn and Celery workers as one tree.

It starts the API (``service``) and the workers (``workers``) as child processes and imports
their settings only to validate them before starting anything.
"""
