"""The command line, ``restoration-audit``: audit, self-check, serve, worker, openapi.

An application layer above ``workers`` (the engine it runs in process) and ``runtime`` (the
launcher ``serve`` and ``worker`` start); neither of those imports it back.
"""
