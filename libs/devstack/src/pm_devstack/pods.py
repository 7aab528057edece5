"""The Helm chart, run as pods: ``podman kube play`` of what the chart renders with its development values,
on this machine's native infrastructure (PostgreSQL, Redis, Kafka and S3 of ``make up``).

This proves the images, the chart's environment, secrets, probes, security context and migration Jobs
together, without a cluster. What is adapted to run outside one, and nothing else:

- the pods share the host's network, so they reach the native infrastructure on loopback and each other at
  the chart's ``services.<name>.url`` values (http://127.0.0.1:<port>), the chart's own way of pointing a
  service somewhere other than its in-cluster Service. The native services must therefore be stopped
  while the pods run (the same ports). Podman refuses port declarations there: the probes' named ports
  become numbers;
- the chart's Secret becomes a Podman secret (kube play reads ``secretKeyRef`` from Podman secrets holding a
  JSON map of base64 values), holding the native stack's credentials;
- each migration Job runs as a Pod to completion, before the Deployments, as the pre-install hook does
  (kube play has no Jobs);
- the probes are asked from here, exactly as the Deployments declare them, as a kubelet would: kube play
  ignores readiness probes and turns a liveness httpGet into a ``curl`` health check, which the slim
  images (no curl) could not run.

Services, NetworkPolicies, HPAs, PDBs, the ServiceMonitor and the helm test Pod need a cluster: not run.
"""

from __future__ import annotations

import base64
import json
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pm_devstack.config import DATABASE_NAME, HOST, S3_BUCKET
from pm_devstack.errors import DevstackError
from pm_devstack.images import DEFAULT_TAG, IMAGE_PREFIX, Engine
from pm_devstack.stack import GATEWAY_TRUSTED_PROXIES, Stack
from pm_devstack.tools import CHART, helm_template, install_helm

DEV_VALUES = CHART / "values-dev.yaml"
SECRET_NAME = "pm-native-secrets"  # noqa: S105 (a name, not a secret)
COMPONENT = "pods"
PROVIDERS = ("spotify", "deezer", "tidal", "youtube")
Doc = dict[str, Any]


def chart_values(stack: Stack, tag: str = DEFAULT_TAG) -> Doc:
    """The values laid over the chart's development values: the local images, the native infrastructure,
    every service at its loopback address, the native stack's credentials as an existing Secret."""
    config = stack.config
    services = {
        spec.name: {"url": f"http://{HOST}:{spec.port}", "image": {"tag": tag}}
        for spec in stack.service_specs(include_dev=False)
    }
    emulator = stack.spec("provider-emulator")
    return {
        "image": {"prefix": IMAGE_PREFIX, "pullPolicy": "Never"},
        "apiBaseUrl": stack.gateway_url,
        "trustedProxies": GATEWAY_TRUSTED_PROXIES,
        "postgresql": {"host": HOST, "port": config.pg_port, "database": DATABASE_NAME, "urlParameters": ""},
        "redis": {"host": HOST, "port": config.redis_port},
        "kafka": {"bootstrapServers": stack.kafka_bootstrap(), "ports": [config.kafka_port]},
        "s3": {"endpoint": stack.s3_endpoint(), "port": config.s3_port, "bucket": S3_BUCKET},
        "secrets": {"generate": False, "existingSecret": SECRET_NAME},
        "services": services,
        "emulator": {
            "enabled": True,
            "port": emulator.port,
            "url": f"http://{HOST}:{emulator.port}",
            "image": {"tag": tag},
        },
    }


def _variable_or_file(env: dict[str, str], name: str) -> str:
    """``name``'s value in a service environment: the content of ``<name>_FILE`` when that is set."""
    path = env.get(f"{name}_FILE")
    return Path(path).read_text().strip() if path else env[name]


def secret_data(stack: Stack, dev_values: Doc) -> dict[str, str]:
    """The keys an existing Secret holds (helm/README.md), from the native stack's own credentials, so the
    pods share its database roles, keys and tokens; the provider client secrets are the chart's dev ones."""
    auth, gateway = stack.service_env("auth"), stack.service_env("gateway")
    master_key = Path(auth["MASTER_KEY_FILE"]).read_text().strip()
    access, secret = stack.s3_credentials()
    data = {
        "MASTER_KEY": master_key,
        "JWT_SECRET": auth["JWT_SECRET"],
        "SERVICE_TOKEN": auth["SERVICE_TOKEN"],
        # The identity keys the native services use now: their files (which a rotation rewrites) when set.
        "IDENTITY_SIGNING_KEY": _variable_or_file(gateway, "IDENTITY_SIGNING_KEY"),
        "IDENTITY_PUBLIC_KEYS": _variable_or_file(auth, "IDENTITY_PUBLIC_KEYS"),
        "REDIS_URL": stack.redis_url(),
        "AWS_ACCESS_KEY_ID": access,
        "AWS_SECRET_ACCESS_KEY": secret,
    }
    for spec in stack.service_specs(include_dev=False):
        if spec.schema is not None:
            data[f"DATABASE_URL_{spec.schema.upper()}"] = stack.database_url(spec)
    client_secrets = dev_values.get("secrets", {}).get("generated", {}).get("providerClientSecrets", {})
    for provider in PROVIDERS:
        if client_secrets.get(provider):
            data[f"{provider.upper()}_CLIENT_SECRET"] = client_secrets[provider]
    return data


def render_chart(stack: Stack, tag: str = DEFAULT_TAG) -> list[Doc]:
    """``helm template`` of the chart with its development values and :func:`chart_values` over them."""
    root = stack.config.repo_root
    helm = install_helm(stack.config)
    with tempfile.TemporaryDirectory(prefix="pm-pods-") as tmp:
        overrides = Path(tmp) / "values-native.yaml"
        overrides.write_text(yaml.safe_dump(chart_values(stack, tag)))
        return helm_template(helm, root, [DEV_VALUES, overrides])


@dataclass(frozen=True)
class PodPlan:
    """What runs: the migration pods (in order, to completion), then the Deployments."""

    migrations: list[Doc]
    deployments: list[Doc]

    @property
    def names(self) -> list[str]:
        return [d["metadata"]["name"] for d in self.deployments]


def _on_host_network(pod_spec: Doc) -> None:
    """Share the host's network. Podman refuses port mappings there, and a container's ``ports`` are only
    a declaration on the host network anyway: the probes' named ports become their numbers, the
    declarations go."""
    pod_spec["hostNetwork"] = True
    for container in pod_spec["containers"]:
        declared = {p["name"]: p["containerPort"] for p in container.pop("ports", []) if "name" in p}
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            http = container.get(probe, {}).get("httpGet")
            if http is not None and isinstance(http.get("port"), str):
                http["port"] = declared[http["port"]]


def plan(docs: list[Doc]) -> PodPlan:
    """The rendered chart's Deployments and migration Jobs, adapted as the module says; nothing else."""
    migrations, deployments = [], []
    for doc in docs:
        kind = doc.get("kind")
        if kind == "Job" and doc["metadata"]["name"].endswith("-migrate"):
            template = deepcopy(doc["spec"]["template"])
            _on_host_network(template["spec"])
            migrations.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": doc["metadata"]["name"], "labels": template["metadata"]["labels"]},
                    "spec": template["spec"],
                }
            )
        elif kind == "Deployment":
            deployment = deepcopy(doc)
            deployment["spec"]["replicas"] = 1
            _on_host_network(deployment["spec"]["template"]["spec"])
            deployments.append(deployment)
    if not deployments:
        raise DevstackError(COMPONENT, "the rendered chart has no Deployment")
    return PodPlan(migrations, deployments)


def probe_url(deployment: Doc, probe: str = "readinessProbe") -> str:
    """The URL a kubelet would ask for ``deployment``'s ``probe`` (an httpGet), on loopback (host network)."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    http = container[probe]["httpGet"]
    return f"http://{HOST}:{http['port']}{http['path']}"


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback http by design)
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _yaml_file(directory: Path, name: str, docs: list[Doc]) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def _logs(engine: Engine, container: str) -> str:
    result = engine.run("logs", "--tail", "30", container, timeout=60)
    return (result.stdout + result.stderr).strip()


@contextmanager
def running(
    engine: Engine, stack: Stack, *, tag: str = DEFAULT_TAG, ready_timeout: float = 240
) -> Iterator[PodPlan]:
    """Run the chart as pods: the Secret, every migration pod to a successful end, then every Deployment
    until its readiness probe answers; everything is removed on exit. The native services must be down."""
    dev_values = yaml.safe_load((stack.config.repo_root / DEV_VALUES).read_text())
    pods = plan(render_chart(stack, tag))
    with tempfile.TemporaryDirectory(prefix="pm-pods-") as tmp:
        directory = Path(tmp)
        secret_file = directory / "secret.json"
        encoded = {
            k: base64.b64encode(v.encode()).decode() for k, v in secret_data(stack, dev_values).items()
        }
        secret_file.write_text(json.dumps(encoded))
        secret_file.chmod(0o600)
        engine.run("secret", "rm", SECRET_NAME, timeout=60)
        created = engine.run("secret", "create", SECRET_NAME, str(secret_file), timeout=60)
        if created.returncode != 0:
            raise DevstackError(COMPONENT, f"podman secret create failed: {created.stderr.strip()}")
        played: list[Path] = []
        try:
            for index, pod in enumerate(pods.migrations):
                manifest = _yaml_file(directory, f"migrate-{index}.yaml", [pod])
                played.append(manifest)
                _play(engine, manifest)
                container = f"{pod['metadata']['name']}-{pod['spec']['containers'][0]['name']}"
                waited = engine.run("wait", container, timeout=300)
                code = waited.stdout.strip()
                if waited.returncode != 0 or code != "0":
                    raise DevstackError(
                        COMPONENT,
                        f"{pod['metadata']['name']} ended with {code!r}: {_logs(engine, container)}",
                    )
            manifest = _yaml_file(directory, "deployments.yaml", pods.deployments)
            played.append(manifest)
            _play(engine, manifest)
            _wait_ready(engine, pods, ready_timeout)
            yield pods
        finally:
            for manifest in reversed(played):
                engine.run("kube", "down", str(manifest), timeout=300)
            engine.run("secret", "rm", SECRET_NAME, timeout=60)


def _play(engine: Engine, manifest: Path) -> None:
    result = engine.run("kube", "play", str(manifest), timeout=300)
    if result.returncode != 0:
        raise DevstackError(COMPONENT, f"podman kube play {manifest.name} failed: {result.stderr.strip()}")


def _wait_ready(engine: Engine, pods: PodPlan, timeout: float) -> None:
    waiting = {d["metadata"]["name"]: probe_url(d) for d in pods.deployments}
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        waiting = {name: url for name, url in waiting.items() if not _ready(url)}
        if waiting:
            time.sleep(1)
    if waiting:
        detail = "; ".join(
            f"{name} ({url}): {_logs(engine, container_name(d))[-600:]}"
            for d in pods.deployments
            if (name := d["metadata"]["name"]) in waiting
            for url in [waiting[name]]
        )
        raise DevstackError(COMPONENT, f"not ready within {timeout:.0f} s: {detail}")


def container_name(deployment: Doc) -> str:
    """The name ``podman kube play`` gives the (first) container of a Deployment's one pod."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]["name"]
    return f"{deployment['metadata']['name']}-pod-0-{container}"
