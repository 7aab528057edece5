"""pm_devstack.pods: what is adapted when the chart runs as pods on the native stack, and nothing more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pm_devstack import pods
from pm_devstack.errors import DevstackError
from pm_devstack.images import IMAGE_PREFIX, image_name
from pm_devstack.stack import Stack


def _deployment(name: str, port: int) -> dict[str, Any]:
    probe = {"httpGet": {"path": "/health/ready", "port": "http"}, "periodSeconds": 5}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 3,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
                            "livenessProbe": {"httpGet": {"path": "/health/live", "port": "http"}},
                            "readinessProbe": probe,
                        }
                    ]
                },
            },
        },
    }


def _job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "annotations": {"helm.sh/hook": "pre-install"}},
        "spec": {
            "backoffLimit": 3,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "migrate", "args": ["migrate"]}]},
            },
        },
    }


def test_plan_puts_deployments_on_the_host_network_with_their_probes_intact() -> None:
    docs = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "pm-auth"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "pm-auth"}},
        _deployment("pm-auth", 3102),
        _job("pm-auth-migrate"),
    ]
    plan = pods.plan(docs)
    [deployment] = plan.deployments
    spec = deployment["spec"]["template"]["spec"]
    assert spec["hostNetwork"] is True
    assert deployment["spec"]["replicas"] == 1
    [container] = spec["containers"]
    assert "ports" not in container  # Podman refuses port declarations on the host network
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/health/ready", "port": 3102},
        "periodSeconds": 5,
    }
    assert pods.probe_url(deployment) == "http://127.0.0.1:3102/health/ready"
    assert pods.probe_url(deployment, "livenessProbe") == "http://127.0.0.1:3102/health/live"
    assert pods.container_name(deployment) == "pm-auth-pod-0-main"
    # The input is not changed (the plan works on copies).
    assert docs[2]["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 3102


def test_plan_runs_each_migration_job_as_a_pod_to_completion() -> None:
    plan = pods.plan([_deployment("pm-auth", 3102), _job("pm-auth-migrate"), _job("pm-auth-other")])
    [pod] = plan.migrations  # only the chart's migration Jobs
    assert pod["kind"] == "Pod" and pod["metadata"]["name"] == "pm-auth-migrate"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["hostNetwork"] is True
    assert pod["spec"]["containers"][0]["args"] == ["migrate"]


def test_plan_refuses_a_rendering_without_deployments() -> None:
    with pytest.raises(DevstackError, match="no Deployment"):
        pods.plan([_job("pm-auth-migrate")])


def test_chart_values_point_every_service_at_loopback_with_the_local_images(tmp_stack: Stack) -> None:
    values = pods.chart_values(tmp_stack, tag="t1")
    specs = tmp_stack.service_specs(include_dev=False)
    assert set(values["services"]) == {spec.name for spec in specs}
    for spec in specs:
        assert values["services"][spec.name] == {
            "url": f"http://127.0.0.1:{spec.port}",
            "image": {"tag": "t1"},
        }
    assert values["emulator"]["url"] == "http://127.0.0.1:3199" and values["emulator"]["enabled"] is True
    assert values["image"] == {"prefix": IMAGE_PREFIX, "pullPolicy": "Never"}
    assert values["secrets"] == {"generate": False, "existingSecret": pods.SECRET_NAME}
    assert values["postgresql"]["port"] == tmp_stack.config.pg_port
    assert values["postgresql"]["urlParameters"] == ""
    assert values["kafka"]["bootstrapServers"] == tmp_stack.kafka_bootstrap()
    assert values["apiBaseUrl"] == tmp_stack.gateway_url
    # The chart names images as `make images` tags them.
    spec = tmp_stack.spec("auth")
    assert image_name(spec, "t1") == f"{IMAGE_PREFIX}/auth:t1"


def test_the_secret_holds_the_native_stacks_credentials(tmp_stack: Stack) -> None:
    dev_values = {"secrets": {"generated": {"providerClientSecrets": {"spotify": "s1", "deezer": ""}}}}
    data = pods.secret_data(tmp_stack, dev_values)
    for spec in tmp_stack.service_specs(include_dev=False):
        assert spec.schema is not None
        assert data[f"DATABASE_URL_{spec.schema.upper()}"] == tmp_stack.database_url(spec)
    assert data["REDIS_URL"] == tmp_stack.redis_url()
    # The identity keys the services use now: their key files, which a rotation rewrites.
    gateway = tmp_stack.service_env("gateway")
    assert data["IDENTITY_SIGNING_KEY"] == Path(gateway["IDENTITY_SIGNING_KEY_FILE"]).read_text().strip()
    assert data["IDENTITY_SIGNING_KEY"] == tmp_stack.secrets["IDENTITY_SIGNING_KEY"]
    assert data["IDENTITY_PUBLIC_KEYS"] == Path(gateway["IDENTITY_PUBLIC_KEYS_FILE"]).read_text().strip()
    assert data["SPOTIFY_CLIENT_SECRET"] == "s1" and "DEEZER_CLIENT_SECRET" not in data
    # The master key is the one auth uses now: its key file, which a rotation rewrites.
    key_file = Path(tmp_stack.service_env("auth")["MASTER_KEY_FILE"])
    key_file.write_text("cm90YXRlZC1rZXktY3VycmVudC1jdXJyZW50LTMyYg==\n")
    assert (
        pods.secret_data(tmp_stack, dev_values)["MASTER_KEY"]
        == "cm90YXRlZC1rZXktY3VycmVudC1jdXJyZW50LTMyYg=="
    )
