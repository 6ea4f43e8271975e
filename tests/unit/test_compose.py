"""docker-compose.yml and the Dockerfiles: valid for Compose, and shaped as the deployment needs.

``docker-compose config`` (or ``docker compose config``) validates the file without a Docker
engine; CI installs Debian's ``docker-compose`` (.ci/run). Without either tool this test fails
on purpose, naming the fix, rather than skipping silently.
"""

from __future__ import annotations

import ast
import ipaddress
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
API_DOCKERFILE = REPO / "docker" / "Dockerfile.api"
WORKER_DOCKERFILE = REPO / "docker" / "Dockerfile.worker"
TEST_KEYS = '{"ci": "' + "0" * 64 + '"}'
OBJECT_STORAGE = "object-storage"


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@pytest.mark.integration  # starts a process
def test_compose_config_is_valid() -> None:
    command = _compose_command()
    if command is None:
        pytest.fail(
            "neither `docker-compose` nor `docker compose` is installed; install Debian's "
            "docker-compose package (apt-get install docker-compose), as .ci/run does"
        )
    env = dict(os.environ, RA_API_KEYS=TEST_KEYS)
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) >= {"redis", "api", "worker"}
    default = {n for n, s in resolved["services"].items() if not s.get("profiles")}
    assert default == {"redis", "api", "worker"}


def test_object_storage_profile_config_is_valid() -> None:
    command = _compose_command()
    if command is None:
        pytest.fail("docker-compose missing; see test_compose_config_is_valid")
    env = dict(os.environ, RA_API_KEYS=TEST_KEYS, MINIO_ROOT_PASSWORD="ci-secret-123")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "--profile", OBJECT_STORAGE, "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    profiled = {n for n, s in services.items() if OBJECT_STORAGE in s.get("profiles", [])}
    assert profiled == {"minio", "minio-init", "api-s3", "worker-s3"}
    for name in ("api-s3", "worker-s3"):
        environment = services[name]["environment"]
        assert environment["AWS_SECRET_ACCESS_KEY"] == "ci-secret-123"
        assert environment["AWS_ENDPOINT_URL"] == "http://minio:9000"


def test_object_storage_workers_share_no_volume(compose: dict[str, Any]) -> None:
    services = compose["services"]
    bucket = services["api-s3"]["environment"]["RA_STORAGE_URL"].removeprefix("s3://")
    bucket = bucket.split("/", 1)[0]
    for name in ("api-s3", "worker-s3"):
        service = services[name]
        assert service["volumes"] == [], name  # the anchor's payload volume is overridden
        assert service["environment"]["RA_STORAGE_URL"].startswith(f"s3://{bucket}/")
        # Its own Redis database: a default-stack worker never takes an S3 job.
        assert service["environment"]["RA_REDIS_URL"] == "redis://redis:6379/1"
        depends = service["depends_on"]
        assert depends["minio-init"]["condition"] == "service_completed_successfully"
    assert services["worker-s3"]["deploy"] == services["worker"]["deploy"]  # one GPU each
    # The init container creates the very bucket the stack is configured with.
    assert f"store/{bucket}" in " ".join(services["minio-init"]["command"])
    assert "minio-data" in compose["volumes"]


@pytest.mark.integration  # starts a process
def test_compose_refuses_to_start_the_api_without_keys() -> None:
    command = _compose_command()
    if command is None:
        pytest.fail("docker-compose missing; see test_compose_config_is_valid")
    env = {k: v for k, v in os.environ.items() if k != "RA_API_KEYS"}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode != 0
    assert "RA_API_KEYS" in result.stderr


def test_worker_reserves_an_nvidia_gpu(compose: dict[str, Any]) -> None:
    devices = compose["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices)
    assert compose["services"]["worker"]["environment"]["RA_DEVICE"] == "cuda"


@pytest.mark.integration  # starts a process
def test_worker_names_its_gpu(compose: dict[str, Any]) -> None:
    """``count: 1`` without device ids gave every replica (and every copy) the same GPU."""
    (device,) = compose["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert "count" not in device
    assert device["device_ids"] == ["${RA_WORKER_GPU:-0}"]
    resolved = _resolved({"RA_WORKER_GPU": "3"})
    (device,) = resolved["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["device_ids"] == ["3"]


@pytest.mark.parametrize("dockerfile", [API_DOCKERFILE, WORKER_DOCKERFILE])
def test_the_payload_volume_is_writable_by_the_service_user(dockerfile: Path) -> None:
    """A new named volume takes the owner of the image's mount point: /data must exist and
    belong to uid 10001 before ``USER`` switches to it."""
    runs = " ".join(_instructions(dockerfile.read_text(), "RUN"))
    assert "useradd --create-home --uid 10001 audit" in runs
    assert re.search(r"mkdir -p /data && chown audit:audit /data", runs)
    assert _instructions(dockerfile.read_text(), "USER") == ["audit"]


@pytest.mark.integration  # starts a process
def test_the_api_trusts_a_proxy_container_but_not_the_gateway() -> None:
    """--proxy-headers trusts FORWARDED_ALLOW_IPS (uvicorn's default is loopback only): the
    containers' range of the project network, which leaves out its gateway (the address
    published ports arrive from)."""
    resolved = _resolved({})
    api = resolved["services"]["api"]
    trusted = ipaddress.ip_network(api["environment"]["FORWARDED_ALLOW_IPS"])
    (pool,) = resolved["networks"]["default"]["ipam"]["config"]
    subnet = ipaddress.ip_network(pool["subnet"])
    assert trusted == ipaddress.ip_network(pool["ip_range"])
    assert trusted.subnet_of(subnet)
    gateway = next(subnet.hosts())  # Docker's default gateway: the subnet's first address
    assert gateway not in trusted
    assert "--proxy-headers" in _instructions(API_DOCKERFILE.read_text(), "CMD")[0]


def _resolved(extra_env: dict[str, str]) -> dict[str, Any]:
    command = _compose_command()
    if command is None:
        pytest.fail("docker-compose missing; see test_compose_config_is_valid")
    env = dict(os.environ, RA_API_KEYS=TEST_KEYS, **extra_env)
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    resolved: dict[str, Any] = yaml.safe_load(result.stdout)
    return resolved


def test_redis_persists_to_a_volume(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert re.search(r"--appendonly\s+yes", command)
    volumes = [v.split(":") for v in redis["volumes"]]
    assert ["redis-data", "/data"] in volumes
    assert "redis-data" in compose["volumes"]
    assert redis["image"].startswith("redis:")


def test_api_and_worker_share_the_payload_volume(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("api", "worker"):
        assert "payloads:/data" in services[name]["volumes"], name
        assert services[name]["environment"]["RA_DATA_DIR"] == "/data"
        assert services[name]["environment"]["RA_REDIS_URL"] == "redis://redis:6379/0"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "payloads" in compose["volumes"]


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), name


def test_api_image_installs_no_torch() -> None:
    text = API_DOCKERFILE.read_text()
    installs = " ".join(_instructions(text, "RUN"))
    assert "pip install" in installs
    assert not re.search(r"\btorch", installs)
    copies = _instructions(text, "COPY")
    assert not any("workers" in c or "pyproject" in c for c in copies), copies
    assert "fastapi" in installs
    assert "uvicorn" in installs


def test_worker_image_has_cuda_torch() -> None:
    text = WORKER_DOCKERFILE.read_text()
    assert "cuda" in _instructions(text, "FROM")[0]
    command = _instructions(text, "CMD")[0].replace('"', "").replace(",", "")
    assert "-Q audit" in command
    assert "--pool prefork" in command


def _instructions(dockerfile: str, keyword: str) -> list[str]:
    """The arguments of each ``keyword`` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    return [
        line.split(None, 1)[1]
        for line in joined.splitlines()
        if line.split() and line.split()[0] == keyword
    ]


# Import name -> the distribution Dockerfile.api installs for it.
_DISTRIBUTIONS = {
    "PIL": "pillow",
    "boto3": "boto3",
    "botocore": "boto3",  # boto3's own core, installed with it
    "celery": "celery",
    "fastapi": "fastapi",
    "jinja2": "jinja2",
    "kombu": "celery",
    "numpy": "numpy",
    "prometheus_client": "prometheus-client",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",  # pydantic's own core, installed with it
    "pydantic_settings": "pydantic-settings",
    "pythonjsonlogger": "python-json-logger",
    "redis": "redis",
    "starlette": "starlette",
    "uvicorn": "uvicorn",
}
_API_PACKAGES = ("service", "reporting", "observability", "jobstore", "api_schemas")


def _third_party_imports() -> set[str]:
    found: set[str] = set()
    for package in _API_PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in _API_PACKAGES}


def test_api_image_installs_every_import_of_the_api_code() -> None:
    installs = " ".join(_instructions(API_DOCKERFILE.read_text(), "RUN"))
    imports = _third_party_imports()
    unknown = imports - _DISTRIBUTIONS.keys()
    assert not unknown, f"add these imports of the API code to Dockerfile.api: {sorted(unknown)}"
    for module in sorted(imports):
        assert f'"{_DISTRIBUTIONS[module]}' in installs, f"{module}: Dockerfile.api misses it"
    assert "torch" not in imports
    assert "workers" not in imports
