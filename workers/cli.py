"""The ``restoration-audit`` console script: audit, serve, worker, openapi.

Exit codes: 0 ok; 1 the audit found the risk level given to ``--fail-on``; 2 usage error;
3 input error (an image that cannot be decoded, pairs that do not match, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from workers.cli_audit import EXIT_USAGE, add_audit_parser, main_audit


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="restoration-audit",
        description="Audit image-restoration models for hallucinations.",
        epilog="exit codes: 0 ok, 1 risk at --fail-on level, 2 usage error, 3 input error",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_audit_parser(sub)
    serve = sub.add_parser(
        "serve",
        help="run the service on this machine: Redis, one worker and the API in one command",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", default=None, help="where jobs, payloads and Redis live")
    worker = sub.add_parser("worker", help="run one Celery worker against RA_REDIS_URL")
    worker.add_argument("--concurrency", type=int, default=1)
    sub.add_parser("openapi", help="print the service's OpenAPI document")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0) and EXIT_USAGE
    if args.command == "audit":
        return main_audit(args)
    if args.command == "openapi":
        from service.main import create_app  # noqa: PLC0415

        print(json.dumps(create_app().openapi(), indent=2))
        return 0
    if args.command == "serve":
        from workers.launcher import serve_main  # noqa: PLC0415

        return serve_main(args)
    if args.command == "worker":
        from workers.launcher import worker_main  # noqa: PLC0415

        return worker_main(args)
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
