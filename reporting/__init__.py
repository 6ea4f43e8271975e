"""Human-readable renderings of a report (the HTML page), shared by the API and the CLI.

Depends on ``api_schemas`` only: it reads a finished ``AuditReport`` and its artifacts, and
neither HTTP nor the engine.
"""
