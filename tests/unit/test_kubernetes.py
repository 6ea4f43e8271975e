"""deploy/kubernetes: rendered by kustomize and valid against the Kubernetes schemas, offline.

``kubectl kustomize`` renders the manifests (kustomize is built into kubectl); every object is
validated, strictly (unknown fields are errors), by ``kubernetes-validate`` against the
schemas it ships for ``KUBERNETES_VERSION``. Without kubectl or kustomize this test fails on
purpose, naming the fix, rather than skipping silently. The rest checks the shape the
deployment needs: a GPU per worker, no shared disk, and an autoscaler whose metric is built
from series the API's /metrics really exports (read from a real collector over a real Redis).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from service.metrics import ServiceCollector
from service.resources import Resources
from service.settings import ServiceSettings
from tests.fixtures.redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30.0"
"""Oldest minor still commonly run by managed clusters; the kinds used are stable since."""


def _render_command() -> list[str] | None:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize", str(MANIFESTS)]
    if shutil.which("kustomize"):
        return ["kustomize", "build", str(MANIFESTS)]
    return None


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    command = _render_command()
    if command is None:
        pytest.fail(
            "neither kubectl nor kustomize is installed; install kubectl "
            "(https://kubernetes.io/docs/tasks/tools/), which has kustomize built in"
        )
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _one(rendered: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in rendered if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize("version", [KUBERNETES_VERSION, kubernetes_validate.latest_version()])
def test_every_object_validates_against_the_kubernetes_schemas(
    rendered: list[dict[str, Any]], version: str
) -> None:
    for document in rendered:
        kubernetes_validate.validate(document, version, strict=True)
    kinds = {d["kind"] for d in rendered}
    assert {"Deployment", "StatefulSet", "Service", "HorizontalPodAutoscaler"} <= kinds


def test_everything_lands_in_one_namespace(rendered: list[dict[str, Any]]) -> None:
    namespaced = [d for d in rendered if d["kind"] != "Namespace"]
    assert {d["metadata"]["namespace"] for d in namespaced} == {"restoration-audit"}


def test_each_worker_gets_one_gpu_and_no_shared_disk(rendered: list[dict[str, Any]]) -> None:
    worker = _one(rendered, "Deployment", "worker")
    container = _container(worker)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["RA_DEVICE"] == "cuda"
    assert env["RA_CONCURRENCY"] == "1"
    for name in ("worker", "api"):
        volumes = _one(rendered, "Deployment", name)["spec"]["template"]["spec"].get("volumes", [])
        assert all("emptyDir" in v for v in volumes), (name, volumes)
    assert "replicas" not in worker["spec"]  # the autoscaler owns the count


def test_payloads_go_to_the_bucket_the_job_creates(rendered: list[dict[str, Any]]) -> None:
    config = _one(rendered, "ConfigMap", "restoration-audit")["data"]
    match = re.fullmatch(r"s3://([a-z0-9.-]+)/\S+", config["RA_STORAGE_URL"])
    assert match, config["RA_STORAGE_URL"]
    assert config["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert _one(rendered, "Service", "minio")["spec"]["ports"][0]["port"] == 9000
    job = _one(rendered, "Job", "minio-create-bucket")
    assert f"store/{match.group(1)}" in " ".join(_container_args(job))
    for name in ("api", "worker"):
        sources = _container(_one(rendered, "Deployment", name))["envFrom"]
        assert {"configMapRef": {"name": "restoration-audit"}} in sources


def _container_args(workload: dict[str, Any]) -> list[str]:
    spec = workload["spec"]["template"]["spec"]["containers"][0]
    return [*spec.get("command", []), *spec.get("args", [])]


def test_redis_url_of_the_config_names_the_redis_service(rendered: list[dict[str, Any]]) -> None:
    config = _one(rendered, "ConfigMap", "restoration-audit")["data"]
    port = _one(rendered, "Service", "redis")["spec"]["ports"][0]["port"]
    assert config["RA_REDIS_URL"] == f"redis://redis:{port}/0"
    ServiceSettings(local_mode=True, redis_url=config["RA_REDIS_URL"])  # a form the API accepts


def test_autoscaler_scales_the_workers_on_the_exported_backlog(
    rendered: list[dict[str, Any]], redis_server: RedisServer
) -> None:
    hpa = _one(rendered, "HorizontalPodAutoscaler", "worker")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "worker",
    }
    assert hpa["spec"]["minReplicas"] >= 1
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "External"
    rules = yaml.safe_load(
        _one(rendered, "ConfigMap", "restoration-audit-adapter-rules")["data"]["config.yaml"]
    )
    (rule,) = rules["externalRules"]
    assert rule["name"]["as"] == metric["external"]["metric"]["name"]
    # Every series the adapter's query reads is one /metrics exports: scrape a real collector.
    settings = ServiceSettings(local_mode=True, redis_url=redis_server.url)
    resources = Resources.from_settings(settings)
    try:
        registry = CollectorRegistry()
        registry.register(ServiceCollector(resources))
        exported = generate_latest(registry).decode()
    finally:
        resources.close()
    queried = set(re.findall(r"\b(restoration_audit_[a-z_]+)\b", rule["metricsQuery"]))
    queried |= {rule["seriesQuery"].strip("'")}
    assert queried == {"restoration_audit_queue_messages", "restoration_audit_jobs"}
    for series in queried:
        assert re.search(rf"^{series}(\{{|\s)", exported, re.MULTILINE), series
    assert 'restoration_audit_jobs{state="running"}' in exported
