"""/healthz under a flood of decompression-bomb submissions (issue #11, item 3).

Starts a real redis-server and uvicorn (``service.main:create_app``, local mode, no worker) on
127.0.0.1, submits one valid job to poll, then floods ``POST /v1/jobs`` from a child process:
``--concurrency`` connections, each sending ``--waves`` requests, all of a wave at once. Every
request is a pair of 2.5 KB TIFFs whose strips all point at one deflated run, declaring
6300 x 6300 float pixels (160 MB); the API refuses each from its header (422). Meanwhile this
process times ``GET /healthz`` and ``GET /v1/jobs/{id}`` (two threads, one connection each)
and prints their p50 and p99, the flood's statuses and the API's peak resident memory.

Usage: python benchmarks/bench_healthz_flood.py [--concurrency 45] [--waves 16] [--repeats 3]
       [--submission-threads N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine_line
from tests.fixtures.redis_server import RedisServer
from tests.integration.stack import ApiServer, sample_pairs, stack_environment, submit
from tests.support.flood import flood_and_probe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=45)
    parser.add_argument("--waves", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--submission-threads",
        type=int,
        default=None,
        help="RA_MAX_CONCURRENT_SUBMISSIONS of the API (default: the service's default)",
    )
    args = parser.parse_args()

    print(machine_line(with_torch=False))
    with tempfile.TemporaryDirectory() as tmp, RedisServer() as redis_server:
        root = Path(tmp)
        settings = {}
        if args.submission_threads is not None:
            settings["RA_MAX_CONCURRENT_SUBMISSIONS"] = str(args.submission_threads)
        env = stack_environment(redis_server.url, root / "data", **settings)
        api = ApiServer(env, root / "api.log").start()
        try:
            with httpx.Client(base_url=api.base_url, timeout=30.0) as client:
                queued = submit(client, sample_pairs(1, 32), {"maps": False})
                queued.raise_for_status()
                job_id = queued.json()["id"]
            assert api.popen is not None
            for repeat in range(args.repeats):
                result = flood_and_probe(
                    api.base_url,
                    concurrency=args.concurrency,
                    waves=args.waves,
                    job_id=job_id,
                    api_pid=api.popen.pid,
                )
                threads = args.submission_threads or "default"
                print(
                    f"-- run {repeat + 1} of {args.repeats}: {args.concurrency} concurrent, "
                    f"submission threads {threads}"
                )
                print(result.summary())
        finally:
            api.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
