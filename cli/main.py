"""The ``restoration-audit`` console script: audit, selfcheck, compare, serve, worker, openapi.

Exit codes: 0 ok; 1 the audit found the risk level given to ``--fail-on``; 2 usage error;
3 input error (an image that cannot be decoded, pairs that do not match, ...); 4 ``compare``
found a regression (``--fail-on-regression``); 5 the audit does not fit ``--max-memory``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from api_schemas.exit_codes import EXIT_USAGE
from cli.audit import add_audit_parser, main_audit
from cli.compare import add_compare_parser, main_compare
from cli.selfcheck import add_selfcheck_parser, main_selfcheck
from workers.process_tuning import keep_freed_memory, long_lived_imports, passive_thread_waits

EPILOG = """\
examples:
  restoration-audit audit --ground-truth val/gt --restored esrgan=out/esrgan -o report.json
  restoration-audit audit --ground-truth val/gt --restored a=out/a --restored b=out/b \\
      --html report.html --maps maps/      # a page to read, with heat maps
  restoration-audit audit ... --quiet --fail-on high   # gate a release in CI (exit 1)
  restoration-audit selfcheck --degradation downsample:4:bicubic   # is the placement right?
  restoration-audit compare base.json new.json --fail-on-regression  # gate a new model (exit 4)
  restoration-audit serve                  # the service on http://127.0.0.1:8000
  restoration-audit COMMAND --help         # every option of a command

exit codes: 0 ok, 1 risk at the --fail-on level (selfcheck: a check failed), 2 usage
error, 3 input error, 4 compare: the candidate regresses (--fail-on-regression),
5 audit: the job does not fit --max-memory even in row bands
"""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="restoration-audit",
        description="Audit image-restoration models for hallucinations.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_audit_parser(sub)
    add_selfcheck_parser(sub)
    add_compare_parser(sub)
    # serve and worker own their parsers (runtime.launcher); listed here for the help text.
    sub.add_parser(
        "serve",
        help="run the service on this machine: Redis, one worker and the API in one command",
    )
    sub.add_parser("worker", help="run one Celery worker against RA_REDIS_URL (scale-out)")
    sub.add_parser("openapi", help="print the service's OpenAPI document")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in ("serve", "worker"):
        from runtime.launcher import serve_main, worker_main

        entry = serve_main if arguments[0] == "serve" else worker_main
        try:
            return entry(arguments[1:])
        except SystemExit as exit_:
            return int(exit_.code or 0) and EXIT_USAGE
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exit_:
        return int(exit_.code or 0) and EXIT_USAGE
    if args.command == "audit":
        if argv is None:  # the console script's own process, not a caller's (tests, embedding)
            if args.max_memory is None:  # a budgeted run keeps the allocator its model knows
                keep_freed_memory()
            passive_thread_waits()
            with long_lived_imports():  # torch and the engine, imported once per process
                import workers.engine  # noqa: F401
        return main_audit(args)
    if args.command == "selfcheck":
        return main_selfcheck(args)
    if args.command == "compare":
        return main_compare(args)
    if args.command == "openapi":
        from service.main import openapi_document  # FastAPI only on demand

        print(json.dumps(openapi_document(), indent=2))
        return 0
    parser.error(f"unknown command {args.command}")  # pragma: no cover
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
