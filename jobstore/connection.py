"""Redis connections from one URL, for the job store (redis-py) and the broker (Celery/kombu).

The one place a Redis URL is understood: the API (``service.resources``), the workers
(``workers.tasks.audit.open_stores``) and the Celery settings of both (``celery_url_options``)
build from here, so a URL that works for one works for all. Accepted forms:

``redis://[[user]:password@]host[:port][/db]``
    Plain TCP.
``rediss://[[user]:password@]host[:port][/db][?ssl_ca_certs=/ca.pem&ssl_cert_reqs=required]``
    TLS (a managed Redis). The server's certificate is verified by default, against the
    system's CAs or ``ssl_ca_certs``; ``ssl_certfile``/``ssl_keyfile`` give a client
    certificate. Both redis-py and kombu read these ``ssl_*`` query keys; kombu alone would
    default to *no* verification, so ``celery_url_options`` asks it for ``CERT_REQUIRED``.
``sentinel://[[user]:password@]host:port[/db][;sentinel://host2:port2...]``
    Redis Sentinel, in kombu's form: every Sentinel separated by ``;``, the password (if any)
    being the master's. The name of the monitored master is not part of the URL (kombu takes
    it as the ``master_name`` transport option): it is ``RA_REDIS_SENTINEL_MASTER``. Clients
    ask a Sentinel for the current master, and again after a failover.
``unix:///path/redis.sock?db=0``
    A local socket; job store only (kombu names it ``socket://``).

TLS towards a Sentinel-managed master is not offered: kombu and redis-py spell it differently.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.sentinel import Sentinel

DEFAULT_SENTINEL_MASTER: Final = "mymaster"
"""The master name Redis's own sentinel.conf example monitors."""
BROKER_SCHEMES: Final = ("redis", "rediss", "sentinel")
STORE_SCHEMES: Final = (*BROKER_SCHEMES, "unix")
_SENTINEL_PORT: Final = 26379


def scheme(url: str) -> str:
    """The URL's scheme, lower case (``redis``, ``rediss``, ``sentinel``, ``unix``...)."""
    return url.split("://", 1)[0].lower() if "://" in url else ""


def check_redis_url(url: str, *, broker: bool) -> str:
    """``url`` when it is a form this module builds clients for (``BROKER_SCHEMES`` for a
    broker URL, ``STORE_SCHEMES`` for the job store); ``ValueError`` otherwise."""
    allowed = BROKER_SCHEMES if broker else STORE_SCHEMES
    if scheme(url) not in allowed:
        forms = ", ".join(f"{s}://" for s in allowed)
        raise ValueError(f"expected a {forms} URL, got {url!r}")
    if scheme(url) == "sentinel":
        parse_sentinel_url(url)  # raises on a malformed list
    return url


@dataclass(frozen=True)
class SentinelURL:
    """What a ``sentinel://`` URL names: the Sentinels, the database and the master's login."""

    sentinels: tuple[tuple[str, int], ...]
    db: int
    username: str | None
    password: str | None


def parse_sentinel_url(url: str) -> SentinelURL:
    """Parse kombu's ``sentinel://[[user]:pass@]host:port[/db];sentinel://host2:port2...``.

    Credentials and the database are read from the first Sentinel that gives them, as kombu
    does (it reads them from the first URL of the list).
    """
    sentinels: list[tuple[str, int]] = []
    db = 0
    username: str | None = None
    password: str | None = None
    for index, part in enumerate(p for p in url.split(";") if p.strip()):
        parsed = urlsplit(part.strip())
        if parsed.scheme.lower() != "sentinel" or not parsed.hostname:
            raise ValueError(f"expected sentinel://host:port, got {part!r} in {url!r}")
        if parsed.query and "db" in parse_qs(parsed.query):
            raise ValueError("give the database as the path (/1), not ?db=")
        sentinels.append((parsed.hostname, parsed.port or _SENTINEL_PORT))
        if index == 0:
            path = parsed.path.strip("/")
            if path:
                if not path.isdigit():
                    raise ValueError(f"expected a database number as the path, got {path!r}")
                db = int(path)
            username = unquote(parsed.username) if parsed.username else None
            password = unquote(parsed.password) if parsed.password else None
    if not sentinels:
        raise ValueError(f"no Sentinel in {url!r}")
    return SentinelURL(tuple(sentinels), db, username, password)


def redis_client(url: str, *, sentinel_master: str, **kwargs: Any) -> redis.Redis:
    """A redis-py client of ``url`` (any form above); ``kwargs`` are connection options
    (timeouts, ``retry``, ``decode_responses``...). Connects lazily, on the first command.

    Through Sentinel the client is a ``master_for`` client: each new connection asks the
    Sentinels for the master, and a connection to a master demoted by a failover fails with a
    ``ConnectionError`` (redis-py turns the old master's ``READONLY`` into one), which the
    callers' retries absorb.
    """
    if scheme(url) != "sentinel":
        return redis.Redis.from_url(url, **kwargs)
    address = parse_sentinel_url(url)
    # The Sentinels themselves get only the socket options (redis-py's default), no password:
    # the URL's password is the master's, as with kombu.
    sentinel = Sentinel(list(address.sentinels), **kwargs)  # type: ignore[no-untyped-call, unused-ignore]
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call, unused-ignore]
        sentinel_master,
        db=address.db,
        username=address.username,
        password=address.password,
    )
    return client


def celery_url_options(url: str, *, sentinel_master: str) -> dict[str, Any]:
    """Celery settings that a broker ``url`` needs beside ``broker_url``.

    ``broker_transport_options`` here are to be merged into the caller's own.
    """
    options: dict[str, Any] = {}
    kind = scheme(url)
    if kind == "rediss" and not any(
        key.startswith("ssl_") for key in parse_qs(urlsplit(url).query)
    ):
        # kombu alone connects to rediss:// without checking the certificate; redis-py
        # checks it. The URL's ssl_* keys, when given, replace this.
        options["broker_use_ssl"] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    if kind == "sentinel":
        options["broker_transport_options"] = {"master_name": sentinel_master}
    return options
