"""Alerts, dashboards, Prometheus, nginx and the compose profiles (deploy/observability, deploy/nginx,
deploy/swarm, docker-compose.yml), checked offline.

- ``promtool check rules`` and ``promtool test rules`` pass on alerts.yml / alerts.test.yml, every alert
  carries ``for``, a severity and summary/description annotations, and the unit tests make every alert fire
  and stay silent at least once; a broken rule and a wrong expectation make promtool fail;
- ``promtool check config`` passes on prometheus.yml, which scrapes every service of proto/services.yaml
  on its port's /metrics under a job named after it;
- every metric named in the alerts' and the dashboards' PromQL is one the code declares (``Counter(``,
  ``Gauge(``, ``Histogram(`` in libs/ and services/, with the exposition's suffixes) or Prometheus's ``up``;
- the Grafana provisioning points at the dashboards folder and the datasource uid the dashboards use;
- docker-compose.yml (with its ``production`` and ``observability`` profiles) and the swarm stack validate
  against the compose-spec schema, and mount the files above; each service accepts the swarm stack's
  environment in production (``check-config``), its secrets read from files (``<VAR>_FILE``);
- deploy/nginx/nginx.conf carries the seed's rate limits and TLS, and ``nginx -t`` accepts it with a
  throwaway certificate made by openssl.

Marked integration: promtool is apt-installed on first use (Debian's ``prometheus`` package) and nginx is
unpacked from Debian's packages into the state dir (pm_devstack.tools); neither starts a server.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pm_contracts.services import ServiceSpec, deployed_services
from pm_devstack import deploy
from pm_devstack.stack import Stack
from pm_devstack.tools import install_nginx, install_promtool

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

OBSERVABILITY = Path("deploy") / "observability"
ALERTS = OBSERVABILITY / "alerts.yml"
ALERTS_TEST = OBSERVABILITY / "alerts.test.yml"
PROMETHEUS = OBSERVABILITY / "prometheus.yml"
GRAFANA = OBSERVABILITY / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
NGINX = Path("deploy") / "nginx" / "nginx.conf"
SWARM = Path("deploy") / "swarm" / "stack.yml"
COMPOSE = Path("docker-compose.yml")
SERVICES: tuple[ServiceSpec, ...] = deployed_services()
# What the issue asks the alerts to cover (the seed's minus memory, see docs/operations.md, plus ours).
REQUIRED_ALERTS = {
    "APIDown",
    "HighErrorRate",
    "DatabaseConnectionPoolExhausted",
    "KafkaConsumerLag",
    "KafkaTopicUnconsumed",
    "OutboxBacklog",
    "OutboxStale",
    "DeadLetterGrowth",
    "JobFailures",
    "ProviderRateLimited",
}
SEVERITIES = {"critical", "warning"}

Doc = dict[str, Any]


# ---- fixtures and helpers -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> Path:
    return install_promtool()


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def _yaml(path: Path) -> Doc:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def _rules(root: Path) -> list[Doc]:
    return [rule for group in _yaml(root / ALERTS)["groups"] for rule in group["rules"]]


def _dashboards(root: Path) -> dict[str, Doc]:
    files = sorted((root / DASHBOARDS).glob("*.json"))
    assert files, "no dashboards"
    return {path.name: json.loads(path.read_text()) for path in files}


def _panels(dashboard: Doc) -> list[Doc]:
    out: list[Doc] = []
    for panel in dashboard.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))  # rows
    return out


# ---- the metrics the code declares, and the ones PromQL names ----------------------------------------------------

_DECLARED = re.compile(
    r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"", re.MULTILINE
)
_SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
}
# Series Prometheus itself adds to every scrape.
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
# What prometheus_client's ProcessCollector exposes (on Linux), where the code registers one.
PROCESS_SERIES = {
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_cpu_seconds_total",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
}


def declared_metrics(root: Path) -> set[str]:
    """Every series name the services can expose: each declaration in libs/ and services/ source (not
    tests) with the suffixes prometheus_client gives its type (a counter ``x`` is exposed as ``x_total``)."""
    names: set[str] = set()
    for top in ("libs", "services"):
        for path in (root / top).glob("*/src/**/*.py"):
            source = path.read_text()
            for kind, name in _DECLARED.findall(source):
                base = name.removesuffix("_total") if kind == "Counter" else name
                names.update(base + suffix for suffix in _SUFFIXES[kind])
            if "ProcessCollector(registry=" in source:
                names |= PROCESS_SERIES
    return names


_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
             "offset", "inf", "nan"}  # fmt: skip
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a Grafana query) selects: its identifiers minus functions,
    keywords, label matchers, grouping labels, durations, strings and Grafana's variables."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (matchers' values, label_replace args)
    text = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", " ", text)  # $job, $__rate_interval, ${x}
    text = re.sub(r"\{[^{}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\[\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", text)
    text = re.sub(r"\b\d+(?:ms|s|m|h|d|w|y)\b", " ", text)  # offsets' durations
    text = re.sub(r"\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b", " ", text)  # numbers
    names = set()
    for match in _NAME.finditer(text):
        name = match.group(0)
        after = text[match.end() :].lstrip()
        if after.startswith("(") or name.lower() in _KEYWORDS:
            continue  # a function call or an operator keyword
        names.add(name)
    return names


def test_metric_name_parser() -> None:
    assert metric_names(
        'sum by (job, le) (rate(pm_http_request_duration_seconds_bucket{job=~"$job", status=~"5.."}[5m]))'
    ) == {"pm_http_request_duration_seconds_bucket"}
    assert metric_names(
        "sum by (topic) (rate(a_total[$__rate_interval])) > 0 unless on (topic) sum by (topic) (b_total) > 0"
    ) == {"a_total", "b_total"}
    assert metric_names("(x - y) / z > 0.9") == {"x", "y", "z"}
    assert metric_names("histogram_quantile(0.95, sum(rate(h_bucket[1m] offset 5m))) > 1e3") == {"h_bucket"}


def test_declared_metrics_include_the_platforms(root: Path) -> None:
    declared = declared_metrics(root)
    expected = {
        "pm_http_requests_total",
        "pm_http_request_duration_seconds_bucket",
        "pm_outbox_backlog",
        "pm_kafka_consumed_total",
        "pm_jobs_total",
        "pm_provider_requests_total",
        "pm_gateway_upstream_up",
        "process_resident_memory_bytes",
    }
    assert expected <= declared
    assert "pm_http_requests" not in declared  # a counter is only ever exposed with _total


# ---- alert rules ----------------------------------------------------------------------------------------------


def test_promtool_checks_the_rules(root: Path, promtool: Path) -> None:
    result = _run([str(promtool), "check", "rules", str(ALERTS)], root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules(root))} rules found" in result.stdout


def test_promtool_unit_tests_pass(root: Path, promtool: Path) -> None:
    result = _run([str(promtool), "test", "rules", ALERTS_TEST.name], root / OBSERVABILITY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_catches_a_broken_rule(tmp_path: Path, root: Path, promtool: Path) -> None:
    broken = tmp_path / "alerts.yml"
    broken.write_text(
        (root / ALERTS).read_text().replace("pm_outbox_backlog > 1000", "pm_outbox_backlog >", 1)
    )
    result = _run([str(promtool), "check", "rules", str(broken)], tmp_path)
    assert result.returncode != 0
    assert "parse error" in result.stdout + result.stderr


def test_promtool_unit_tests_catch_a_changed_threshold(tmp_path: Path, root: Path, promtool: Path) -> None:
    # The backlog alert raised out of the test's reach: the test that expects it to fire must fail.
    text = (root / ALERTS).read_text()
    assert "pm_outbox_backlog > 1000" in text
    (tmp_path / "alerts.yml").write_text(
        text.replace("pm_outbox_backlog > 1000", "pm_outbox_backlog > 100000")
    )
    shutil.copy(root / ALERTS_TEST, tmp_path / ALERTS_TEST.name)
    result = _run([str(promtool), "test", "rules", ALERTS_TEST.name], tmp_path)
    assert result.returncode != 0
    assert "alertname: OutboxBacklog" in result.stdout + result.stderr


def test_every_alert_is_complete(root: Path) -> None:
    rules = _rules(root)
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "duplicate alert names"
    assert set(names) >= REQUIRED_ALERTS, REQUIRED_ALERTS - set(names)
    for rule in rules:
        assert "record" not in rule, rule
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), f"{rule['alert']}: no `for`"
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_every_alert_fires_and_stays_silent_in_the_unit_tests(root: Path) -> None:
    fired: set[str] = set()
    silent: set[str] = set()
    tests = _yaml(root / ALERTS_TEST)
    assert tests["rule_files"] == [ALERTS.name]
    for case in tests["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else silent).add(check["alertname"])
    names = {rule["alert"] for rule in _rules(root)}
    assert names - fired == set(), "alerts no test makes fire"
    assert names - silent == set(), "alerts no test checks silent"


def test_alerts_name_only_metrics_the_code_exposes(root: Path) -> None:
    declared = declared_metrics(root) | SCRAPE_SERIES
    for rule in _rules(root):
        used = metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= declared, f"{rule['alert']}: {sorted(used - declared)} not exposed by any service"


def test_alert_tests_use_only_metrics_the_code_exposes(root: Path) -> None:
    declared = declared_metrics(root) | SCRAPE_SERIES
    for case in _yaml(root / ALERTS_TEST)["tests"]:
        for series in case["input_series"]:
            name = series["series"].split("{", 1)[0].strip()
            assert name in declared, name


# ---- Prometheus -----------------------------------------------------------------------------------------------


def test_promtool_checks_the_config(root: Path, promtool: Path) -> None:
    result = _run([str(promtool), "check", "config", PROMETHEUS.name], root / OBSERVABILITY)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_every_service(root: Path) -> None:
    config = _yaml(root / PROMETHEUS)
    assert config["rule_files"] == [ALERTS.name]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for spec in SERVICES:
        job = jobs[spec.name]
        assert job.get("metrics_path", "/metrics") == "/metrics", spec.name
        targets = [t for static in job["static_configs"] for t in static["targets"]]
        assert targets == [f"{spec.name}:{spec.port}"], spec.name
    # Only the services and Prometheus itself: the emulator is never deployed.
    assert set(jobs) == {spec.name for spec in SERVICES} | {"prometheus"}


def test_alerts_select_jobs_that_prometheus_scrapes(root: Path) -> None:
    jobs = {job["job_name"] for job in _yaml(root / PROMETHEUS)["scrape_configs"]}
    for rule in _rules(root):
        for matcher in re.findall(r'job=~?"([^"]+)"', rule["expr"]):
            assert set(matcher.split("|")) <= jobs, rule["alert"]


# ---- Grafana --------------------------------------------------------------------------------------------------


def test_grafana_provisioning(root: Path) -> None:
    datasources = _yaml(root / GRAFANA / "provisioning" / "datasources" / "prometheus.yml")["datasources"]
    assert [(d["uid"], d["type"], d["url"]) for d in datasources] == [
        ("prometheus", "prometheus", "http://prometheus:9090")
    ]
    providers = _yaml(root / GRAFANA / "provisioning" / "dashboards" / "playlist-manager.yml")["providers"]
    assert [p["options"]["path"] for p in providers] == ["/var/lib/grafana/dashboards"]


def test_dashboards_are_well_formed(root: Path) -> None:
    uids = set()
    for name, dashboard in _dashboards(root).items():
        assert dashboard["uid"] and dashboard["uid"] not in uids, name
        uids.add(dashboard["uid"])
        ids = [panel["id"] for panel in _panels(dashboard)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        for panel in _panels(dashboard):
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, (name, panel["title"])
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), (name, panel["title"])


def test_dashboards_query_only_metrics_the_code_exposes(root: Path) -> None:
    declared = declared_metrics(root) | SCRAPE_SERIES
    used: set[str] = set()
    for name, dashboard in _dashboards(root).items():
        queries = [t["expr"] for panel in _panels(dashboard) for t in panel["targets"]]
        queries += [
            re.sub(r"^label_values\((\w+).*$", r"\1", str(v["query"]["query"]))
            for v in dashboard["templating"]["list"]
            if v["type"] == "query"
        ]
        for query in queries:
            names = metric_names(query)
            assert names, f"{name}: {query}"
            assert names <= declared, f"{name}: {sorted(names - declared)} not exposed by any service"
            used |= names
    # What the issue asks the dashboards to show.
    for wanted in (
        "pm_http_requests_total",
        "pm_http_request_duration_seconds_bucket",
        "pm_outbox_backlog",
        "pm_outbox_oldest_age_seconds",
        "pm_kafka_consumed_total",
        "pm_jobs_total",
        "pm_provider_requests_total",
    ):
        assert wanted in used, wanted


def test_dashboards_show_latency_per_route_and_provider_429s(root: Path) -> None:
    exprs = " ".join(
        t["expr"] for d in _dashboards(root).values() for panel in _panels(d) for t in panel["targets"]
    )
    assert re.search(r"histogram_quantile\(0\.95, sum by \([^)]*route[^)]*\)", exprs)
    assert 'outcome="rate_limited"' in exprs


# ---- compose profiles and the swarm stack --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [COMPOSE, SWARM], ids=["compose", "swarm"])
def test_compose_files_match_the_compose_spec(root: Path, path: Path) -> None:
    result = deploy.check_compose_schema(root / path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_catches_a_bad_key_in_the_swarm_stack(tmp_path: Path, root: Path) -> None:
    text = (root / SWARM).read_text()
    assert "\n    order: start-first\n" in text
    broken = tmp_path / "stack.yml"
    broken.write_text(text.replace("\n    order: start-first\n", "\n    order: sometimes\n", 1))
    result = deploy.check_compose_schema(broken)
    assert result.returncode != 0
    assert "sometimes" in result.stdout + result.stderr


def test_compose_profiles(root: Path) -> None:
    services = _yaml(root / COMPOSE)["services"]
    nginx, prometheus, grafana = services["nginx"], services["prometheus"], services["grafana"]
    assert nginx["profiles"] == ["production"]
    assert prometheus["profiles"] == grafana["profiles"] == ["observability"]
    assert "./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert "./deploy/nginx/tls:/etc/nginx/tls:ro" in nginx["volumes"]
    assert nginx["ports"] == ["80:80", "443:443"]
    assert nginx["depends_on"] == {"gateway": {"condition": "service_healthy"}}
    assert f"./{PROMETHEUS.as_posix()}:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    assert f"./{ALERTS.as_posix()}:/etc/prometheus/alerts.yml:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert f"./{GRAFANA.as_posix()}/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert f"./{DASHBOARDS.as_posix()}:/var/lib/grafana/dashboards:ro" in grafana["volumes"]
    # Prometheus and Grafana are reachable from this host only.
    assert all(p.startswith("127.0.0.1:") for p in prometheus["ports"] + grafana["ports"])
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    # The services Prometheus scrapes are the compose services, on the ports they listen on.
    for spec in SERVICES:
        assert services[spec.name]["environment"]["PORT"] == str(spec.port)
        assert services[spec.name]["environment"]["ENABLE_METRICS"] == "${ENABLE_METRICS:-true}"


def test_swarm_stack_follows_the_service_list(root: Path) -> None:
    stack = _yaml(root / SWARM)
    services = stack["services"]
    assert set(services) == {spec.name for spec in SERVICES} | {"nginx"}
    secrets = set(stack["secrets"])
    for spec in SERVICES:
        service = services[spec.name]
        env = service["environment"]
        assert service["image"] == f"${{REGISTRY:?set REGISTRY}}/{spec.name}:${{VERSION:?set VERSION}}"
        assert env["SERVICE_NAME"] == spec.name and env["PORT"] == str(spec.port)
        assert env["ENVIRONMENT"] == "production"
        for other in SERVICES:
            assert env[other.url_variable] == f"http://{other.name}:{other.port}"
        # Secrets come as files (pm_platform.settings reads <VAR>_FILE), never as plain variables.
        for variable in ("DATABASE_URL", "REDIS_URL", "MASTER_KEY", "JWT_SECRET", "SERVICE_TOKEN"):
            assert variable not in env and env[f"{variable}_FILE"].startswith("/run/secrets/"), variable
            assert env[f"{variable}_FILE"].removeprefix("/run/secrets/") in service["secrets"], variable
        assert ("IDENTITY_SIGNING_KEY_FILE" in env) == spec.public, spec.name
        assert set(service["secrets"]) <= secrets
        deploy = service["deploy"]
        assert deploy["update_config"]["order"] == "start-first"
        assert deploy["restart_policy"]["condition"] == "on-failure"
        assert deploy["resources"]["limits"]["memory"]
        assert service["networks"] == ["playlist-net"]
        assert "ports" not in service, spec.name  # only nginx is published
    assert stack["networks"]["playlist-net"]["driver"] == "overlay"
    nginx = services["nginx"]
    assert {p["published"] for p in nginx["ports"]} == {80, 443}
    assert nginx["configs"] == [{"source": "pm_nginx_conf", "target": "/etc/nginx/nginx.conf"}]
    assert {s["target"] for s in nginx["secrets"]} == {"/etc/nginx/tls/cert.pem", "/etc/nginx/tls/key.pem"}


def _swarm_env(service: Doc, native: dict[str, str], secrets: Path) -> dict[str, str]:
    """A swarm service's environment as its container sees it: ``${VAR...}`` from the native stack's values
    (or a stand-in URL), each ``/run/secrets/<name>`` a file in ``secrets`` holding the native value."""
    env = {"PATH": "/usr/bin:/bin", "HOST": "0.0.0.0"}  # noqa: S104 - as the image sets it
    for key, raw in service["environment"].items():
        value = str(raw)
        if key.endswith("_FILE"):
            variable = key.removesuffix("_FILE")
            content = native[variable] if variable in native else Path(native[key]).read_text().strip()
            path = secrets / value.rsplit("/", 1)[1]
            path.write_text(content + "\n")
            env[key] = str(path)
            continue
        match = re.fullmatch(r"\$\{(\w+)(:[-?])?([^}]*)\}", value)
        if match:
            name = match.group(1)
            default = match.group(3) if match.group(2) == ":-" else "https://stand-in.example.com"
            if name not in native and f"{name}_FILE" in native:  # the native stack gives it as a file
                default = Path(native[f"{name}_FILE"]).read_text().strip()
            value = native.get(name, default)
        env[key] = value
    return env


@pytest.mark.parametrize("spec", SERVICES, ids=[spec.name for spec in SERVICES])
def test_services_accept_the_swarm_environment_in_production(
    tmp_path: Path, root: Path, tmp_stack: Stack, spec: ServiceSpec
) -> None:
    service = _yaml(root / SWARM)["services"][spec.name]
    env = _swarm_env(service, tmp_stack.service_env(spec.name), tmp_path)
    assert env["ENVIRONMENT"] == "production"

    def check(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", spec.package, "check-config"]
        return subprocess.run(argv, env=environment, capture_output=True, text=True, timeout=120, check=False)

    accepted = check(env)
    assert accepted.returncode == 0, accepted.stderr
    # The secret files are really read: one missing is refused, by name.
    (tmp_path / "pm_service_token").unlink()
    refused = check(env)
    assert refused.returncode != 0
    assert "SERVICE_TOKEN_FILE" in refused.stderr


# ---- nginx ----------------------------------------------------------------------------------------------------


def test_nginx_has_the_seeds_rate_limits_and_tls(root: Path) -> None:
    text = (root / NGINX).read_text()
    for line in (
        "limit_req_zone $binary_remote_addr zone=api_limit:10m rate=10r/s;",
        "limit_req_zone $binary_remote_addr zone=auth_limit:10m rate=5r/m;",
        "limit_req zone=api_limit burst=20 nodelay;",
        "limit_req zone=auth_limit burst=5 nodelay;",
        "listen 443 ssl http2;",
        "ssl_certificate /etc/nginx/tls/cert.pem;",
        "ssl_certificate_key /etc/nginx/tls/key.pem;",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "return 301 https://$host$request_uri;",
        "server gateway:3101",
    ):
        assert line in text, line
    # The strict zone guards logging in and registering (the gateway's routes).
    auth = re.search(r"location ~ \^/api/v1/auth/\(login\|register\)\$ \{(?P<body>[^}]*)\}", text)
    assert auth is not None and "zone=auth_limit" in auth.group("body")
    gateway = next(spec for spec in SERVICES if spec.public)
    assert f"server {gateway.name}:{gateway.port}" in text


def _nginx_test(nginx: Path, conf: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on ``conf`` moved into ``tmp_path``: its /etc/nginx and log paths there, the upstream on
    loopback (nginx resolves upstream names when it loads the file), a certificate made by openssl."""
    tls = tmp_path / "tls"
    tls.mkdir(exist_ok=True)
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "mime.types").write_text("types {\n    application/json json;\n}\n")
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(tls / "key.pem"), "-out", str(tls / "cert.pem")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    temp_paths = "".join(
        f"    {k}_temp_path {tmp_path}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = (
        conf.replace("/etc/nginx/", f"{tmp_path}/")
        .replace("/var/log/nginx/", f"{tmp_path}/logs/")
        .replace("/tmp/nginx.pid", f"{tmp_path}/nginx.pid")
        .replace("gateway:3101", "127.0.0.1:3101")
        .replace("http {\n", "http {\n" + temp_paths, 1)
    )
    path = tmp_path / "nginx.conf"
    path.write_text(text)
    return _run(
        [str(nginx), "-t", "-p", str(tmp_path), "-e", str(tmp_path / "logs" / "error.log"), "-c", str(path)],
        tmp_path,
    )


def test_nginx_accepts_the_config(tmp_path: Path, root: Path) -> None:
    nginx = install_nginx()
    result = _nginx_test(nginx, (root / NGINX).read_text(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test is successful" in result.stderr


def test_nginx_refuses_a_broken_config(tmp_path: Path, root: Path) -> None:
    nginx = install_nginx()
    text = (root / NGINX).read_text().replace("rate=5r/m;", "rate=5 per minute;", 1)
    result = _nginx_test(nginx, text, tmp_path)
    assert result.returncode != 0
    assert '"limit_req_zone"' in result.stderr
