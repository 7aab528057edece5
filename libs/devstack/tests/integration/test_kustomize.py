"""k8s/: the kustomize bases rendered from the Helm chart, and the dev and prod overlays, checked offline.

- the committed bases (k8s/base, k8s/base-dev) equal a fresh render of the chart (pm_devstack.kustomize),
  so the chart stays the one source;
- ``kubectl kustomize`` renders both overlays, and every object validates against the Kubernetes 1.32 API
  schemas (kubernetes-validate, strict);
- the overlays' services are exactly proto/services.yaml's (plus the provider emulator in dev only), with
  their ports, namespaces, replicas and images; no Secret is committed (both read playlist-manager-secrets);
- migrations are plain Jobs (no Helm hook annotations), no ``helm test`` Pod.

Marked integration like test_helm_chart.py: helm is built once into the state dir (pm_devstack.tools).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pm_contracts.services import load_services
from pm_devstack import kustomize
from pm_devstack.tools import KUBE_VERSION

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

Doc = dict[str, Any]
OVERLAYS = {"dev": "playlists-dev", "prod": "playlists"}


@pytest.fixture(scope="module")
def overlays(root: Path) -> dict[str, list[Doc]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (which carries kustomize) is not installed")
    out: dict[str, list[Doc]] = {}
    for name in OVERLAYS:
        result = subprocess.run(
            [kubectl, "kustomize", f"k8s/overlays/{name}"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{name}: {result.stderr}"
        out[name] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return out


def _component(doc: Doc) -> str:
    return str(doc["metadata"]["labels"]["app.kubernetes.io/component"])


def _kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def test_committed_bases_equal_a_fresh_render_of_the_chart(root: Path, helm: Path) -> None:
    rendered = kustomize.render_all(root, helm)
    assert {str(p.parent) for p in rendered} == {"k8s/base", "k8s/base-dev"}
    assert kustomize.stale(root, helm) == [], (
        "k8s/ bases differ from the chart: run `uv run python -m pm_devstack.kustomize render`"
    )


def test_check_mode_reports_a_drifted_base(root: Path, helm: Path, tmp_path: Path) -> None:
    """stale() really compares: a copy of the repo's k8s/ with one edited line is reported."""
    copy = tmp_path / "repo"
    shutil.copytree(root / "helm", copy / "helm")
    shutil.copytree(root / "k8s", copy / "k8s")
    assert kustomize.stale(copy, helm) == []
    manifest = copy / "k8s" / "base" / kustomize.MANIFEST
    manifest.write_text(manifest.read_text().replace("replicas: 1", "replicas: 3", 1))
    assert kustomize.stale(copy, helm) == [Path("k8s/base") / kustomize.MANIFEST]


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_overlay_objects_validate_against_kubernetes_1_32(
    overlays: dict[str, list[Doc]], overlay: str
) -> None:
    docs = overlays[overlay]
    assert {"Deployment", "Service", "NetworkPolicy", "Job"} <= {d["kind"] for d in docs}
    failures: list[str] = []
    for doc in docs:
        if doc["kind"] == "ServiceMonitor":
            continue  # a CRD without a schema in kubernetes-validate
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_overlay_services_are_proto_services_yaml(
    root: Path, overlays: dict[str, list[Doc]], overlay: str
) -> None:
    specs = load_services(root / "proto" / "services.yaml")
    expected = {s.name: s.port for s in specs if not s.dev or overlay == "dev"}
    assert "provider-emulator" in expected if overlay == "dev" else "provider-emulator" not in expected
    docs = overlays[overlay]
    deployments = {_component(d): d for d in _kind(docs, "Deployment")}
    services = {_component(s): s for s in _kind(docs, "Service")}
    assert sorted(deployments) == sorted(expected)
    assert sorted(services) == sorted(expected)
    for name, port in expected.items():
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"playlist-manager/{name}:0.1.0"
        assert container["ports"][0]["containerPort"] == port
        assert services[name]["spec"]["ports"][0]["port"] == port
    # The overlay's images list names exactly these services too.
    kustomization = yaml.safe_load((root / "k8s" / "overlays" / overlay / "kustomization.yaml").read_text())
    assert sorted(i["name"] for i in kustomization["images"]) == sorted(
        f"playlist-manager/{n}" for n in expected
    )
    jobs = sorted(_component(j).removesuffix("-migrate") for j in _kind(docs, "Job"))
    assert jobs == sorted(n for n in expected if n != "provider-emulator")


@pytest.mark.parametrize(("overlay", "replicas"), [("dev", 1), ("prod", 2)])
def test_overlay_patches_namespace_and_replicas(
    overlays: dict[str, list[Doc]], overlay: str, replicas: int
) -> None:
    for doc in overlays[overlay]:
        assert doc["metadata"]["namespace"] == OVERLAYS[overlay], doc["metadata"]["name"]
    for deployment in _kind(overlays[overlay], "Deployment"):
        assert deployment["spec"]["replicas"] == replicas


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_no_secret_values_are_committed_and_no_helm_hooks_remain(
    overlays: dict[str, list[Doc]], overlay: str
) -> None:
    docs = overlays[overlay]
    assert not _kind(docs, "Secret")
    assert not _kind(docs, "Pod")  # the `helm test` pod is Helm's alone
    secret_refs = {
        env["valueFrom"]["secretKeyRef"]["name"]
        for doc in docs
        if doc["kind"] in {"Deployment", "Job"}
        for container in doc["spec"]["template"]["spec"]["containers"]
        for env in container.get("env", [])
        if "secretKeyRef" in env.get("valueFrom", {})
    }
    assert secret_refs == {kustomize.SECRET}
    for doc in docs:
        annotations = doc["metadata"].get("annotations") or {}
        assert not any(key.startswith("helm.sh/") for key in annotations), doc["metadata"]["name"]


def test_dev_overlay_runs_in_development_mode(overlays: dict[str, list[Doc]]) -> None:
    for overlay, environment in (("dev", "development"), ("prod", "production")):
        for deployment in _kind(overlays[overlay], "Deployment"):
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert env.get("ENVIRONMENT") == environment, (overlay, _component(deployment))
