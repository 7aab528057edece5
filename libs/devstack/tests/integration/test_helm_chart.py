"""The Helm chart (helm/playlist-manager), checked offline without a cluster.

- ``helm lint`` passes for every values file; ``helm template`` renders them all;
- every rendered object validates against the Kubernetes 1.32 API schemas (kubernetes-validate, strict:
  unknown fields fail); ServiceMonitors (a CRD the package has no schema for) are checked by shape here;
- values.schema.json rejects a wrong type and unknown keys, and helm names the offending value;
- the chart's services are proto/services.yaml's (names, ports, schemas), and so are the rendered objects;
- every Deployment runs restricted (non-root 10001, read-only root with /tmp, no privilege escalation, no
  capabilities, RuntimeDefault seccomp) with liveness and readiness probes on its port;
- network policies: only the gateway takes ingress from outside the release, egress goes only to what each
  service calls, and the internet only from the services that call the providers;
- migrations are pre-install/pre-upgrade hook Jobs running the image's ``migrate``;
- the development values give each service an environment its settings accept (``check-config``).

Marked integration: helm is built with ``go install`` on first use (pm_devstack.tools, cached in the state
dir). Each values file is rendered once per module.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pm_contracts.services import ServiceSpec, deployed_services, load_services
from pm_devstack.tools import KUBE_VERSION

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

CHART = Path("helm") / "playlist-manager"
VALUES_FILES = ("values.yaml", "values-production.yaml", "values-minimal.yaml", "values-dev.yaml")
RELEASE = "pm"
SERVICES: tuple[ServiceSpec, ...] = deployed_services()
SERVICE_NAMES = [spec.name for spec in SERVICES]
# Who calls whom (the network policies' egress): everything not listed calls no other service.
CALLS = {
    "gateway": {"auth", "playlist", "provider-sync", "export", "enrichment"},
    "export": {"playlist", "auth"},
    "provider-sync": {"auth", "playlist", "enrichment"},
    "playlist": {"enrichment"},  # the library's insights ask the catalog
}
INTERNET = {"auth", "provider-sync", "enrichment"}  # enrichment: MusicBrainz
SETTINGS_CLASSES = {
    "gateway": "pm_gateway.settings:GatewaySettings",
    "auth": "pm_auth.settings:AuthSettings",
    "playlist": "pm_playlist.settings:PlaylistSettings",
    "provider-sync": "pm_provider_sync.settings:ProviderSyncSettings",
    "export": "pm_export.settings:ExportSettings",
    "enrichment": "pm_enrichment.settings:EnrichmentSettings",
}

Doc = dict[str, Any]


# ---- fixtures ---------------------------------------------------------------------------------------------


def _helm(helm: Path, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm), *args, "--kube-version", KUBE_VERSION],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _template(helm: Path, root: Path, values: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return _helm(helm, root, "template", RELEASE, str(CHART), "-f", str(CHART / values), *extra)


@pytest.fixture(scope="module")
def rendered(helm: Path, root: Path) -> dict[str, list[Doc]]:
    """values file → the objects `helm template` renders from it (hooks and tests included)."""
    out: dict[str, list[Doc]] = {}
    for values in VALUES_FILES:
        result = _template(helm, root, values)
        assert result.returncode == 0, f"{values}: {result.stderr}"
        out[values] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return out


@pytest.fixture(scope="module")
def chart_values(root: Path) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((root / CHART / "values.yaml").read_text())
    return values


def _kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [doc for doc in docs if doc["kind"] == kind]


def _component(doc: Doc) -> str:
    return str(doc["metadata"]["labels"]["app.kubernetes.io/component"])


def _pod_spec(doc: Doc) -> Doc:
    spec: Doc = doc["spec"] if doc["kind"] == "Pod" else doc["spec"]["template"]["spec"]
    return spec


def _all_docs(rendered: dict[str, list[Doc]]) -> Iterator[tuple[str, Doc]]:
    for values, docs in rendered.items():
        for doc in docs:
            yield values, doc


# ---- lint, render, validate -------------------------------------------------------------------------------


@pytest.mark.parametrize("values", VALUES_FILES)
def test_helm_lint_passes(helm: Path, root: Path, values: str) -> None:
    result = _helm(helm, root, "lint", str(CHART), "--strict", "-f", str(CHART / values))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_every_values_file_renders_what_it_promises(rendered: dict[str, list[Doc]]) -> None:
    kinds = {values: {doc["kind"] for doc in docs} for values, docs in rendered.items()}
    assert {"Deployment", "Service", "NetworkPolicy", "Job", "Pod"} <= kinds["values.yaml"]
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress", "ServiceMonitor"} <= kinds[
        "values-production.yaml"
    ]
    assert (
        not {"HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress", "ServiceMonitor"}
        & kinds["values-minimal.yaml"]
    )
    assert "Secret" in kinds["values-dev.yaml"]
    assert "Secret" not in kinds["values-production.yaml"]  # an existing Secret, never a generated one
    for deployment in _kind(rendered["values-production.yaml"], "Deployment"):
        assert "replicas" not in deployment["spec"]  # the HPA owns it
    for hpa in _kind(rendered["values-production.yaml"], "HorizontalPodAutoscaler"):
        assert hpa["spec"]["minReplicas"] >= 2
    for deployment in _kind(rendered["values-minimal.yaml"], "Deployment"):
        assert deployment["spec"]["replicas"] == 1
    dev_components = {_component(d) for d in _kind(rendered["values-dev.yaml"], "Deployment")}
    assert "provider-emulator" in dev_components
    assert "provider-emulator" not in {_component(d) for d in _kind(rendered["values.yaml"], "Deployment")}


def test_rendered_objects_validate_against_kubernetes_1_32(rendered: dict[str, list[Doc]]) -> None:
    failures: list[str] = []
    for values, doc in _all_docs(rendered):
        if doc["kind"] == "ServiceMonitor":
            continue  # a CRD: test_service_monitors_have_the_operator_shape
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            failures.append(f"{values}: {doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not failures, "\n".join(failures)


def test_kubernetes_validate_rejects_a_broken_object(rendered: dict[str, list[Doc]]) -> None:
    """The validator is not silently passing: a string replica count and an unknown field fail."""
    deployment = _kind(rendered["values.yaml"], "Deployment")[0]
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)
    unknown = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, KUBE_VERSION, strict=True)


def test_service_monitors_have_the_operator_shape(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["values-production.yaml"]
    monitors = _kind(docs, "ServiceMonitor")
    services = {s["metadata"]["name"]: s for s in _kind(docs, "Service")}
    assert sorted(_component(m) for m in monitors) == sorted(SERVICE_NAMES)
    for monitor in monitors:
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        assert set(monitor["spec"]) == {"selector", "endpoints"}
        selector = monitor["spec"]["selector"]["matchLabels"]
        matched = [s for s in services.values() if selector.items() <= s["metadata"]["labels"].items()]
        assert [s["metadata"]["name"] for s in matched] == [monitor["metadata"]["name"]]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] == "http"
        assert endpoint["path"] == "/metrics"
        assert set(endpoint) == {"port", "path", "interval", "scrapeTimeout"}


# ---- values.schema.json -----------------------------------------------------------------------------------

BAD_VALUES = [
    pytest.param(
        {"services": {"gateway": {"replicas": "two"}}}, "/services/gateway/replicas", id="string-replicas"
    ),
    pytest.param({"replicaCount": 2}, "replicaCount", id="unknown-top-level-key"),
    pytest.param({"services": {"auth": {"replica": 2}}}, "replica", id="unknown-service-key"),
    pytest.param({"services": {"billing": {"enabled": True}}}, "billing", id="unknown-service"),
    pytest.param({"ingress": {"tls": {"enabled": "yes"}}}, "/ingress/tls/enabled", id="string-boolean"),
    pytest.param({"services": {"auth": {"url": "not a url"}}}, "/services/auth/url", id="service-url"),
    pytest.param({"providers": {"napster": {"clientId": "x"}}}, "napster", id="unknown-provider"),
]


@pytest.mark.parametrize(("bad", "named"), BAD_VALUES)
@pytest.mark.parametrize("command", ["template", "lint"])
def test_values_schema_rejects_bad_values(
    helm: Path, root: Path, tmp_path: Path, bad: dict[str, Any], named: str, command: str
) -> None:
    values = tmp_path / "bad-values.yaml"
    values.write_text(yaml.safe_dump(bad))
    args = ["template", RELEASE] if command == "template" else ["lint"]
    result = _helm(helm, root, *args, str(CHART), "-f", str(values))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "schema" in output
    assert named in output


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (["--set", "secrets.generate=true"], "not both"),
        (["--set", "secrets.existingSecret="], "set existingSecret (production) or generate: true"),
    ],
    ids=["both", "neither"],
)
def test_secrets_come_from_exactly_one_place(
    helm: Path, root: Path, settings: list[str], message: str
) -> None:
    result = _template(helm, root, "values.yaml", *settings)
    assert result.returncode != 0
    assert message in result.stderr


def test_values_schema_forbids_unknown_keys_everywhere(root: Path) -> None:
    """Every object of values.schema.json with properties says additionalProperties: false."""
    schema = json.loads((root / CHART / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    loose: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                loose.append(where or "/")
            for key, child in node.items():
                walk(child, f"{where}/{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{where}/{index}")

    walk(schema, "")
    assert not loose


# ---- the one list of services -----------------------------------------------------------------------------


def test_chart_services_are_proto_services_yaml(root: Path, chart_values: dict[str, Any]) -> None:
    specs = load_services(root / "proto" / "services.yaml")
    deployed = {s.name: s for s in specs if not s.dev}
    chart = chart_values["services"]
    assert list(chart) == list(deployed), "services in values.yaml differ from proto/services.yaml"
    for name, spec in deployed.items():
        assert (chart[name]["port"], chart[name]["schema"], chart[name]["public"]) == (
            spec.port,
            spec.schema,
            spec.public,
        ), name
    (emulator,) = [s for s in specs if s.dev]
    assert emulator.name == "provider-emulator"
    assert chart_values["emulator"]["port"] == emulator.port
    assert not chart_values["emulator"]["enabled"]


def test_schema_lists_exactly_the_services(root: Path) -> None:
    schema = json.loads((root / CHART / "values.schema.json").read_text())
    assert list(schema["properties"]["services"]["properties"]) == SERVICE_NAMES


def test_rendered_services_match_the_list(rendered: dict[str, list[Doc]]) -> None:
    ports = {spec.name: spec.port for spec in SERVICES}
    for values, docs in rendered.items():
        deployments = {_component(d): d for d in _kind(docs, "Deployment") if _component(d) in ports}
        services = {_component(s): s for s in _kind(docs, "Service") if _component(s) in ports}
        assert sorted(deployments) == sorted(ports), values
        assert sorted(services) == sorted(ports), values
        for name, port in ports.items():
            (container,) = _pod_spec(deployments[name])["containers"]
            assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
            assert container["image"] == f"playlist-manager/{name}:0.1.0"
            assert services[name]["spec"]["ports"][0]["port"] == port


# ---- pods: security context and probes --------------------------------------------------------------------

RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@pytest.mark.parametrize("values", VALUES_FILES)
def test_every_pod_runs_restricted(rendered: dict[str, list[Doc]], values: str) -> None:
    pods = [d for d in rendered[values] if d["kind"] in {"Deployment", "Job", "Pod"}]
    assert pods
    for doc in pods:
        spec = _pod_spec(doc)
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] == 10001, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert {key: context.get(key) for key in RESTRICTED_CONTAINER} == RESTRICTED_CONTAINER, where
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp_volumes, f"{where}: no emptyDir at /tmp"


@pytest.mark.parametrize("values", VALUES_FILES)
def test_every_deployment_has_health_probes_on_its_port(rendered: dict[str, list[Doc]], values: str) -> None:
    for deployment in _kind(rendered[values], "Deployment"):
        (container,) = _pod_spec(deployment)["containers"]
        assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
        assert [p["name"] for p in container["ports"]] == ["http"]


def test_helm_test_pod_calls_gateway_ready(rendered: dict[str, list[Doc]]) -> None:
    (pod,) = _kind(rendered["values.yaml"], "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "playlist-manager/gateway:0.1.0"
    script = container["command"][-1]
    assert f"http://{RELEASE}-playlist-manager-gateway:3101/health/ready" in script
    compile(script, "helm-test", "exec")  # valid Python


# ---- network policies -------------------------------------------------------------------------------------


def _policies(docs: list[Doc]) -> dict[str, Doc]:
    return {_component(p): p for p in _kind(docs, "NetworkPolicy")}


def _peers(rules: list[Doc], key: str) -> list[Doc]:
    return [peer for rule in rules for peer in rule.get(key, [])]


def _outside_release(peer: Doc) -> bool:
    """A peer that is not (a subset of) this release's pods: another namespace or an address block."""
    if "namespaceSelector" in peer or "ipBlock" in peer:
        return True
    labels = peer.get("podSelector", {}).get("matchLabels", {})
    return bool(labels.get("app.kubernetes.io/instance") != RELEASE)


@pytest.mark.parametrize("values", VALUES_FILES)
def test_only_the_gateway_takes_ingress_from_outside(rendered: dict[str, list[Doc]], values: str) -> None:
    docs = rendered[values]
    policies = _policies(docs)
    assert set(SERVICE_NAMES) <= set(policies)
    monitoring = bool(_kind(docs, "ServiceMonitor"))
    for name, policy in policies.items():
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        outside = [p for p in _peers(policy["spec"].get("ingress", []), "from") if _outside_release(p)]
        if name == "gateway":
            controller = [p for p in outside if "podSelector" in p]
            assert controller, "the gateway must admit the ingress controller"
            assert controller[0]["namespaceSelector"]["matchLabels"] == {
                "kubernetes.io/metadata.name": "ingress-nginx"
            }
        # Besides the gateway's ingress controller: only Prometheus, and only when it scrapes.
        others = [p for p in outside if not (name == "gateway" and "podSelector" in p)]
        if monitoring:
            assert others == [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
            ]
        else:
            assert others == [], f"{name} admits {others}"


def test_each_service_reaches_only_what_it_calls(rendered: dict[str, list[Doc]]) -> None:
    policies = _policies(rendered["values.yaml"])
    for name in SERVICE_NAMES:
        egress = policies[name]["spec"]["egress"]
        callees = {
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
            for peer in _peers(egress, "to")
            if "podSelector" in peer
        }
        assert callees == CALLS.get(name, set()), name
        internet = [p for p in _peers(egress, "to") if p.get("ipBlock", {}).get("cidr") == "0.0.0.0/0"]
        assert bool(internet) == (name in INTERNET), name
        ports = {port["port"] for rule in egress for port in rule["ports"]}
        assert {53, 5432, 6379, 9092} <= ports, name
        if name not in INTERNET and name != "export":  # export: S3 (https by default)
            assert 443 not in ports, name
    # The callers' side: a service admits exactly the services that call it.
    for name in SERVICE_NAMES:
        callers = {caller for caller, callees in CALLS.items() if name in callees}
        admitted: set[str] = set()
        for peer in _peers(policies[name]["spec"]["ingress"], "from"):
            for expression in peer.get("podSelector", {}).get("matchExpressions", []):
                admitted |= set(expression["values"])
        assert admitted == callers, name


def test_ingress_reaches_only_the_gateway_with_tls_and_the_seed_rate_limits(
    rendered: dict[str, list[Doc]],
) -> None:
    ingresses = {i["metadata"]["name"]: i for i in _kind(rendered["values-production.yaml"], "Ingress")}
    api, auth = ingresses[f"{RELEASE}-playlist-manager-api"], ingresses[f"{RELEASE}-playlist-manager-auth"]
    for ingress in (api, auth):
        assert ingress["spec"]["tls"][0]["secretName"]
        backends = {
            (path["backend"]["service"]["name"], path["backend"]["service"]["port"]["number"])
            for rule in ingress["spec"]["rules"]
            for path in rule["http"]["paths"]
        }
        assert backends == {(f"{RELEASE}-playlist-manager-gateway", 3101)}
    # The seed's nginx: 10 r/s, burst 20 for the API; 5 r/m, burst 5 on login and register.
    assert api["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rps"] == "10"
    assert api["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-burst-multiplier"] == "2"
    assert auth["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rpm"] == "5"
    assert auth["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-burst-multiplier"] == "1"
    auth_paths = {p["path"] for rule in auth["spec"]["rules"] for p in rule["http"]["paths"]}
    assert auth_paths == {"/api/v1/auth/login", "/api/v1/auth/register"}


# ---- migrations -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("values", VALUES_FILES)
def test_migrations_are_pre_install_and_pre_upgrade_hooks(
    rendered: dict[str, list[Doc]], values: str
) -> None:
    jobs = {_component(j).removesuffix("-migrate"): j for j in _kind(rendered[values], "Job")}
    assert sorted(jobs) == sorted(SERVICE_NAMES)
    for name, job in jobs.items():
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade", name
        assert "hook-succeeded" in annotations["helm.sh/hook-delete-policy"]
        (container,) = _pod_spec(job)["containers"]
        # The image's entrypoint is `python -m pm_<package>`; `migrate` applies the migrations and exits.
        assert container["args"] == ["migrate"]
        assert container["image"] == f"playlist-manager/{name}:0.1.0"
        assert _pod_spec(job)["restartPolicy"] == "Never"
    secrets = _kind(rendered[values], "Secret")
    for secret in secrets:  # a generated Secret must exist before the hook Jobs that read it
        annotations = secret["metadata"]["annotations"]
        assert "pre-install" in annotations["helm.sh/hook"]
        assert int(annotations["helm.sh/hook-weight"]) < 0


# ---- environment ------------------------------------------------------------------------------------------


def _setting_names(name: str) -> set[str]:
    module_name, class_name = SETTINGS_CLASSES[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    names: set[str] = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if alias is not None and hasattr(alias, "choices"):
            names |= {str(choice) for choice in alias.choices}
        elif isinstance(alias, str):
            names.add(alias)
        names.add((field.alias or field_name).upper())
    return names


def test_every_variable_the_chart_sets_is_a_setting(rendered: dict[str, list[Doc]]) -> None:
    url_variables = {spec.url_variable for spec in SERVICES}  # every service knows where the others are
    for values in ("values.yaml", "values-dev.yaml"):
        for deployment in _kind(rendered[values], "Deployment"):
            name = _component(deployment)
            if name not in SETTINGS_CLASSES:
                continue
            (container,) = _pod_spec(deployment)["containers"]
            unknown = {e["name"] for e in container["env"]} - _setting_names(name) - url_variables
            assert not unknown, f"{values}: {name} is given variables it does not read: {sorted(unknown)}"


def _resolved_env(container: Doc, secret: dict[str, str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in container["env"]:
        if "valueFrom" in entry:
            ref = entry["valueFrom"]["secretKeyRef"]
            if ref.get("optional") and ref["key"] not in secret:
                continue  # Kubernetes leaves the variable unset
            env[entry["name"]] = secret[ref["key"]]
        else:
            env[entry["name"]] = entry["value"]
    return env


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_dev_values_give_each_service_a_configuration_it_accepts(
    rendered: dict[str, list[Doc]], name: str
) -> None:
    """The development render, generated Secret resolved, passes the service's own ``check-config``."""
    docs = rendered["values-dev.yaml"]
    (secret,) = _kind(docs, "Secret")
    (deployment,) = [d for d in _kind(docs, "Deployment") if _component(d) == name]
    (container,) = _pod_spec(deployment)["containers"]
    env = _resolved_env(container, secret["stringData"])
    package = next(spec.package for spec in SERVICES if spec.name == name)
    result = subprocess.run(
        [sys.executable, "-m", package, "check-config"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# ---- provider OAuth clients -------------------------------------------------------------------------------

PROVIDERS = ("spotify", "deezer", "tidal", "youtube")


def _env(docs: list[Doc], name: str) -> dict[str, Doc]:
    """Service <name>'s container environment: variable → its entry."""
    (deployment,) = [d for d in _kind(docs, "Deployment") if _component(d) == name]
    (container,) = _pod_spec(deployment)["containers"]
    return {entry["name"]: entry for entry in container["env"]}


def test_dev_values_give_auth_the_emulator_clients(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["values-dev.yaml"]
    env = _env(docs, "auth")
    (secret,) = _kind(docs, "Secret")
    for provider in PROVIDERS:
        prefix = provider.upper()
        assert env[f"{prefix}_CLIENT_ID"]["value"].startswith(f"pm-dev-{provider}")
        assert env[f"{prefix}_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
            "name": f"{RELEASE}-playlist-manager-secrets",
            "key": f"{prefix}_CLIENT_SECRET",
            "optional": True,
        }
        assert secret["stringData"][f"{prefix}_CLIENT_SECRET"] == f"pm-dev-{provider}-secret"
        assert f"{prefix}_REDIRECT_URI" not in env  # derived from API_BASE_URL by auth
    for name in SERVICE_NAMES:  # only auth holds the provider clients
        if name != "auth":
            assert not [v for v in _env(docs, name) if "_CLIENT_" in v], name


def test_default_values_link_no_provider(rendered: dict[str, list[Doc]]) -> None:
    for values in ("values.yaml", "values-production.yaml", "values-minimal.yaml"):
        assert not [v for v in _env(rendered[values], "auth") if "_CLIENT_" in v], values


def test_a_generated_secret_leaves_out_empty_client_secrets(helm: Path, root: Path) -> None:
    result = _template(
        helm, root, "values-dev.yaml", "--set", "secrets.generated.providerClientSecrets.tidal="
    )
    assert result.returncode == 0, result.stderr
    docs = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    (secret,) = _kind(docs, "Secret")
    assert "TIDAL_CLIENT_SECRET" not in secret["stringData"]
    assert "SPOTIFY_CLIENT_SECRET" in secret["stringData"]


# ---- where services are reached ---------------------------------------------------------------------------

AUTH_ELSEWHERE = "http://auth.example:9000"


def _render(helm: Path, root: Path, values: str, *sets: str) -> list[Doc]:
    args = [arg for setting in sets for arg in ("--set", setting)]
    result = _template(helm, root, values, *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_by_default_services_reach_each_other_in_cluster(rendered: dict[str, list[Doc]]) -> None:
    env = _env(rendered["values.yaml"], "gateway")
    for spec in SERVICES:
        assert env[spec.url_variable]["value"] == f"http://{RELEASE}-playlist-manager-{spec.name}:{spec.port}"


def test_a_service_url_replaces_its_in_cluster_address(helm: Path, root: Path) -> None:
    docs = _render(helm, root, "values.yaml", f"services.auth.url={AUTH_ELSEWHERE}")
    assert _env(docs, "gateway")["AUTH_URL"]["value"] == AUTH_ELSEWHERE
    assert (
        _env(docs, "gateway")["PLAYLIST_URL"]["value"] == f"http://{RELEASE}-playlist-manager-playlist:3103"
    )
    assert "auth" in {_component(d) for d in _kind(docs, "Deployment")}


def test_a_disabled_service_with_a_url_is_still_reachable(helm: Path, root: Path) -> None:
    docs = _render(
        helm, root, "values.yaml", "services.auth.enabled=false", f"services.auth.url={AUTH_ELSEWHERE}"
    )
    assert "auth" not in {_component(d) for d in _kind(docs, "Deployment")}
    assert _env(docs, "gateway")["AUTH_URL"]["value"] == AUTH_ELSEWHERE
    # Without a url a disabled service is nowhere: no variable at all.
    docs = _render(helm, root, "values.yaml", "services.auth.enabled=false")
    assert "AUTH_URL" not in _env(docs, "gateway")


def test_the_emulator_url_replaces_its_in_cluster_address(helm: Path, root: Path) -> None:
    emulator = "http://emulator.example:3199"
    docs = _render(helm, root, "values-dev.yaml", f"emulator.url={emulator}")
    for name in INTERNET:
        env = _env(docs, name)
        assert env["SPOTIFY_API_URL"]["value"].startswith(f"{emulator}/"), name
        assert env["SPOTIFY_API_URL"]["value"] == f"{emulator}/api.spotify.com", name
