"""The Docker deployment agrees with proto/services.yaml and passes its linters, checked without Docker.

- services/<name>/Dockerfile equal their rendering from services/Dockerfile.template (pm_devstack.deploy);
- docker-compose.yml validates against the compose-spec schema (check-jsonschema's built-in copy);
- every service of proto/services.yaml has a compose service wired like the native stack wires it;
- hadolint passes on every Dockerfile;
- each service accepts the environment compose gives it with .env.example, and refuses those development
  values with ENVIRONMENT=production (``python -m pm_<name> check-config``, the image's own entrypoint).
Each tool-based check also has a test that feeds it a broken file, so a tool that silently passes fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pm_contracts.services import deployed_services
from pm_devstack import deploy
from pm_devstack.envfile import parse_env_file
from pm_devstack.errors import DevstackError
from pm_devstack.services_file import ServiceSpec, load_services
from pm_devstack.stack import Stack
from pm_devstack.tools import console_script

COMPOSE_FILE = "docker-compose.yml"
ENV_EXAMPLE = ".env.example"
INIT_DB = Path("deploy") / "compose" / "init-db.sh"
INFRA = {"postgres", "db-init", "redis", "kafka", "s3"}
# The optional profiles' services (nginx in front, Prometheus and Grafana; test_observability.py checks them).
PROFILE_SERVICES = {"nginx": ["production"], "prometheus": ["observability"], "grafana": ["observability"]}
# The deployed services of proto/services.yaml, the one list (pm_contracts.services).
SERVICES = [spec.name for spec in deployed_services()]
# The seed's variable names (devops guide) plus Kafka and the identity keys; every service gets all of them.
SEED_VARIABLES = {
    "DATABASE_URL",
    "REDIS_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "S3_ENDPOINT",
    "S3_BUCKET",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "MASTER_KEY",
    "JWT_SECRET",
    "SERVICE_TOKEN",
    "IDENTITY_PUBLIC_KEYS",
    "CORS_ORIGINS",
    "LOG_LEVEL",
    "ENABLE_METRICS",
    "WORKER_CONCURRENCY",
    "API_BASE_URL",
}


# ---- helpers ------------------------------------------------------------------------------------------------


def _specs(root: Path) -> list[ServiceSpec]:
    return load_services(root / "proto" / "services.yaml")


def _compose(root: Path) -> dict[str, Any]:
    # PyYAML's safe loader resolves the `<<` merge keys the file uses, as docker compose does.
    data = yaml.safe_load((root / COMPOSE_FILE).read_text())
    assert isinstance(data, dict)
    return data


_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's interpolation: ``${V}``, ``${V:-default}``, ``${V-default}``, ``${V:?error}``, ``${V?error}``."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        current = env.get(name)
        missing = current is None or (current == "" and op is not None and op.startswith(":"))
        if op in (":-", "-"):
            return arg if missing else str(current)
        if op in (":?", "?"):
            if missing:
                raise KeyError(f"{name}: {arg}")
            return str(current)
        return current or ""

    return _VARIABLE.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def _service_env(service: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """A compose service's environment as its container sees it, with ``env`` standing in for .env."""
    return {key: interpolate(str(value), env) for key, value in service["environment"].items()}


def _example_env(root: Path) -> dict[str, str]:
    return parse_env_file((root / ENV_EXAMPLE).read_text())


# ---- (a) Dockerfiles are generated from the template and the list of services ----------------------------------


def test_committed_dockerfiles_equal_their_rendering(repo_root: Path) -> None:
    stale = deploy.stale_dockerfiles(repo_root)
    assert stale == [], f"run `python -m pm_devstack.deploy dockerfiles`: {[str(p) for p in stale]} drifted"


def test_each_rendering_carries_its_service(repo_root: Path) -> None:
    for spec in _specs(repo_root):
        text = deploy.render_dockerfile(spec)
        assert f"--package {deploy.distribution(spec)}" in text
        assert f"COPY services/{spec.name}/ services/{spec.name}/" in text
        assert f"EXPOSE {spec.port}\n" in text
        assert f"PORT={spec.port}\n" in text
        # A container listens on all interfaces (the settings' default is loopback): who may connect is
        # the network's business there (Kubernetes NetworkPolicies, compose's one published port).
        assert "    HOST=0.0.0.0 \\\n" in text
        assert f'ENTRYPOINT ["python", "-m", "{spec.package}"]' in text
        assert 'CMD ["serve"]' in text
        # The emulator refuses production; everything else defaults to it.
        assert f"ENVIRONMENT={'development' if spec.dev else 'production'} " in text
        # The base is a build argument (the official image by default), the same for both stages.
        assert f"ARG PYTHON_IMAGE={deploy.PYTHON_IMAGE}\n" in text
        assert text.count("FROM ${PYTHON_IMAGE}") == 2
        assert "FROM python" not in text
        assert "USER 10001:10001" in text
        assert "/health/live" in text
        assert "{{" not in text
        # The service's directory and project name are what the Dockerfile says they are.
        pyproject = (repo_root / "services" / spec.name / "pyproject.toml").read_text()
        assert f'name = "{deploy.distribution(spec)}"' in pyproject


def test_the_third_party_layer_is_the_same_in_every_image(repo_root: Path) -> None:
    # One layer for every image's dependencies, so building them all resolves and installs them once;
    # the second sync is exact, for the service alone.
    specs = _specs(repo_root)
    layers = set()
    for spec in specs:
        text = deploy.render_dockerfile(spec)
        [layer] = [line for line in text.splitlines() if "--no-install-workspace" in line]
        layers.add(layer)
        assert f"uv sync --frozen --no-dev --no-editable --package {deploy.distribution(spec)}\n" in text
    [layer] = layers
    assert all(f"--package {deploy.distribution(spec)}" in layer for spec in specs)


def test_the_ca_bundle_is_a_build_secret_never_a_layer(repo_root: Path) -> None:
    for spec in _specs(repo_root):
        text = deploy.render_dockerfile(spec)
        network_steps = [
            step for step in text.split("\nRUN ")[1:] if "pip install" in step or "uv sync" in step
        ]
        assert len(network_steps) == 3
        assert all(
            step.startswith("--mount=") and "type=secret,id=ca-bundle" in step for step in network_steps
        )
        assert "ca-certificates.crt" not in text and "COPY --from=build /run/secrets" not in text


def test_every_workspace_member_manifest_is_copied_first(repo_root: Path) -> None:
    manifests = deploy.workspace_manifests(repo_root)
    on_disk = sorted(
        p.relative_to(repo_root).as_posix()
        for pattern in ("libs/*/pyproject.toml", "services/*/pyproject.toml")
        for p in repo_root.glob(pattern)
    )
    assert manifests == on_disk
    text = (repo_root / "services" / "gateway" / "Dockerfile").read_text()
    dependency_layer = text.split("--no-install-workspace")[0]
    for manifest in manifests:
        assert f"COPY {manifest} " in dependency_layer


def test_uv_version_is_the_makefiles(repo_root: Path) -> None:
    match = re.search(r"^UV_VERSION\s*:=\s*(\S+)$", (repo_root / "Makefile").read_text(), re.MULTILINE)
    assert match is not None
    assert match.group(1) == deploy.UV_VERSION


def test_render_rejects_unknown_placeholders() -> None:
    spec = ServiceSpec(name="a", package="pm_a", port=1, schema="a")
    with pytest.raises(DevstackError, match="unknown placeholder"):
        deploy.render_dockerfile(spec, "FROM {{ nope }}\n", [])
    # Docker's own variables pass through.
    assert deploy.render_dockerfile(spec, "ENV PATH=${PATH} P={{ port }}\n", []) == "ENV PATH=${PATH} P=1\n"


def _mini_repo(root: Path, repo_root: Path) -> None:
    for relative in ("pyproject.toml", "proto/services.yaml", str(deploy.TEMPLATE)):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(repo_root / relative, root / relative)
    for spec in _specs(repo_root):
        (root / "services" / spec.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(repo_root / "services" / spec.name / "pyproject.toml", root / "services" / spec.name)


def test_cli_writes_then_checks_and_reports_drift(
    tmp_path: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _mini_repo(tmp_path, repo_root)
    root = ["--root", str(tmp_path)]
    assert deploy.main(["dockerfiles", "--check", *root]) == 1  # nothing written yet
    assert deploy.main(["dockerfiles", *root]) == 0
    assert deploy.main(["dockerfiles", "--check", *root]) == 0
    capsys.readouterr()

    target = tmp_path / "services" / "export" / "Dockerfile"
    target.write_text(target.read_text().replace("EXPOSE 3105", "EXPOSE 9999"))
    assert deploy.main(["dockerfiles", "--check", *root]) == 1
    assert "services/export/Dockerfile differs" in capsys.readouterr().err

    # A new port in services.yaml is a drift too.
    services_yaml = tmp_path / "proto" / "services.yaml"
    services_yaml.write_text(services_yaml.read_text().replace("port: 3106", "port: 3116"))
    assert deploy.main(["dockerfiles", *root]) == 0
    assert "EXPOSE 3116" in (tmp_path / "services" / "enrichment" / "Dockerfile").read_text()
    assert deploy.main(["dockerfiles", "--check", *root]) == 0


# ---- (b) docker-compose.yml is valid compose ---------------------------------------------------------------


def test_compose_file_matches_the_compose_spec(repo_root: Path) -> None:
    result = deploy.check_compose_schema(repo_root / COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_check_catches_a_bad_key_in_the_shared_base(tmp_path: Path, repo_root: Path) -> None:
    text = (repo_root / COMPOSE_FILE).read_text()
    assert "\n  init: true\n" in text  # in x-service, merged into every service
    broken = tmp_path / COMPOSE_FILE
    broken.write_text(text.replace("\n  init: true\n", "\n  init: true\n  restart_policy: always\n", 1))
    result = deploy.check_compose_schema(broken)
    assert result.returncode != 0
    assert "restart_policy" in result.stdout + result.stderr


# ---- (c) compose follows proto/services.yaml -----------------------------------------------------------------


def test_every_service_is_built_from_its_dockerfile_with_a_healthcheck(repo_root: Path) -> None:
    services = _compose(repo_root)["services"]
    specs = _specs(repo_root)
    assert set(services) == INFRA | {spec.name for spec in specs} | set(PROFILE_SERVICES)
    for name, profiles in PROFILE_SERVICES.items():
        assert services[name]["profiles"] == profiles, name
    for spec in specs:
        service = services[spec.name]
        assert service["build"] == {"context": ".", "dockerfile": f"services/{spec.name}/Dockerfile"}
        assert service["healthcheck"]["test"][0] == "CMD"
        assert "/health/live" in " ".join(service["healthcheck"]["test"])
        assert service["environment"]["PORT"] == str(spec.port)
        assert service["environment"]["SERVICE_NAME"] == spec.name
    for name in INFRA - {"db-init"}:
        assert services[name]["healthcheck"]["test"], name


def test_only_the_gateway_publishes_a_port(repo_root: Path) -> None:
    services = _compose(repo_root)["services"]
    publishing = {
        name for name, service in services.items() if service.get("ports") and name not in PROFILE_SERVICES
    }
    public = {spec.name for spec in _specs(repo_root) if spec.public}
    assert publishing == public == {"gateway"}
    gateway = next(spec for spec in _specs(repo_root) if spec.public)
    assert services["gateway"]["ports"] == [f"${{API_PORT:-{gateway.port}}}:{gateway.port}"]


def test_dev_services_only_in_the_dev_profile(repo_root: Path) -> None:
    services = _compose(repo_root)["services"]
    for spec in _specs(repo_root):
        if spec.dev:
            assert services[spec.name]["profiles"] == ["dev"]
            assert services[spec.name]["environment"]["ENVIRONMENT"] == "development"
            assert "depends_on" not in services[spec.name]
        else:
            assert "profiles" not in services[spec.name]
            assert services[spec.name]["environment"]["ENVIRONMENT"] == "${ENVIRONMENT:-production}"
    assert all("profiles" not in services[name] for name in INFRA)


def test_each_service_connects_as_its_own_role_and_db_init_creates_them(repo_root: Path) -> None:
    services = _compose(repo_root)["services"]
    specs = [spec for spec in _specs(repo_root) if not spec.dev]
    init_env = services["db-init"]["environment"]
    assert init_env["PM_SCHEMAS"].split() == [spec.schema for spec in specs]
    assert init_env["PM_DATABASE"] == "playlistmgr"
    for spec in specs:
        assert spec.schema is not None
        variable = f"PG_PASSWORD_{spec.schema.upper()}"
        assert init_env[variable] == f"${{{variable}:?set {variable} in .env}}"
        url = services[spec.name]["environment"]["DATABASE_URL"]
        assert url == f"postgresql://{spec.role}:{init_env[variable]}@postgres:5432/playlistmgr"


def test_services_find_each_other_and_the_infrastructure(repo_root: Path) -> None:
    services = _compose(repo_root)["services"]
    specs = _specs(repo_root)
    for spec in (s for s in specs if not s.dev):
        env = services[spec.name]["environment"]
        assert set(env) >= SEED_VARIABLES, SEED_VARIABLES - set(env)
        for other in (s for s in specs if not s.dev):
            assert env[other.url_variable] == f"http://{other.name}:{other.port}"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["S3_ENDPOINT"] == "http://s3:8333"
        assert env["REDIS_URL"].startswith("redis://") and env["REDIS_URL"].endswith("@redis:6379/0")


NATIVE_ONLY = {"HOST", "TRUSTED_PROXIES", "JOB_LEASE_S"}


def test_compose_gives_each_service_what_the_native_stack_gives_it(repo_root: Path, tmp_stack: Stack) -> None:
    services = _compose(repo_root)["services"]
    for spec in _specs(repo_root):
        # Native only, on purpose: HOST is the image's (0.0.0.0, checked with the Dockerfiles), and the
        # gateway trusts loopback proxies natively only (its e2e clients), nobody by default elsewhere; the
        # short job lease is for a developer's restarts (production keeps the default).
        native = set(tmp_stack.service_env(spec.name)) - NATIVE_ONLY
        if spec.dev:
            # The emulator uses no Redis; every other native key is there.
            native -= {"REDIS_URL"}
        compose = set(services[spec.name]["environment"])
        # A secret the native stack gives as a file (re-read on SIGHUP: the identity keys), compose gives
        # as the variable itself: the same setting.
        native = {
            name.removesuffix("_FILE")
            if name.endswith("_FILE") and name.removesuffix("_FILE") in compose
            else name
            for name in native
        }
        assert native <= compose, spec.name
        # Compose must not override the image's HOST: a container on loopback is unreachable.
        assert "HOST" not in services[spec.name]["environment"], spec.name


def test_only_the_gateway_holds_the_identity_signing_key(repo_root: Path) -> None:
    services = _compose(repo_root)["services"]
    for spec in _specs(repo_root):
        env = services[spec.name].get("environment", {})
        assert ("IDENTITY_SIGNING_KEY" in env) == spec.public, spec.name
        assert ("IDENTITY_PUBLIC_KEYS" in env) == (not spec.dev), spec.name


def test_start_order(repo_root: Path) -> None:
    services = _compose(repo_root)["services"]
    specs = [spec for spec in _specs(repo_root) if not spec.dev]
    infra = {
        "db-init": "service_completed_successfully",
        "redis": "service_healthy",
        "kafka": "service_healthy",
        "s3": "service_healthy",
    }
    for spec in specs:
        depends = {name: entry["condition"] for name, entry in services[spec.name]["depends_on"].items()}
        expected = dict(infra)
        if spec.public:
            expected |= {other.name: "service_healthy" for other in specs if not other.public}
        assert depends == expected, spec.name
    assert services["db-init"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    # Whatever is waited on for health has a healthcheck.
    for service in services.values():
        for name, entry in service.get("depends_on", {}).items():
            if entry["condition"] == "service_healthy":
                assert "healthcheck" in services[name], name


def test_env_example_covers_every_required_variable(repo_root: Path) -> None:
    text = (repo_root / COMPOSE_FILE).read_text()
    example = _example_env(repo_root)
    required = {m.group("name") for m in _VARIABLE.finditer(text) if m.group("op") in (":?", "?")}
    assert required, "the compose file should require its secrets"
    assert required <= set(example), required - set(example)
    assert all(example[name] for name in required)
    # Every variable the file reads is documented in .env.example.
    assert {m.group("name") for m in _VARIABLE.finditer(text)} <= set(example)


def test_dockerignore_keeps_state_and_secrets_out(repo_root: Path) -> None:
    ignored = set((repo_root / ".dockerignore").read_text().split())
    assert {".git", ".env", ".state", ".venv", "**/__pycache__"} <= ignored
    # ...but not what the images are built from.
    assert not ignored & {"libs", "services", "pyproject.toml", "uv.lock"}


def test_init_db_script_is_valid_sh(repo_root: Path) -> None:
    result = subprocess.run(["sh", "-n", str(repo_root / INIT_DB)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    volumes = _compose(repo_root)["services"]["db-init"]["volumes"]
    assert f"./{INIT_DB.as_posix()}:/opt/pm/init-db.sh:ro" in volumes


def _check_config(spec: ServiceSpec, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A clean environment: what compose gives the container, nothing of this shell's.
    clean = {"PATH": "/usr/bin:/bin", "HOST": "0.0.0.0", **env}  # noqa: S104 - as the image sets it
    return subprocess.run(
        [sys.executable, "-m", spec.package, "check-config"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("name", SERVICES)
def test_services_accept_the_example_env_and_refuse_it_in_production(repo_root: Path, name: str) -> None:
    spec = next(spec for spec in _specs(repo_root) if spec.name == name)
    example = _example_env(repo_root)
    assert example["ENVIRONMENT"] == "development"
    env = _service_env(_compose(repo_root)["services"][name], example)

    accepted = _check_config(spec, env)
    assert accepted.returncode == 0, accepted.stderr
    refused = _check_config(spec, env | {"ENVIRONMENT": "production"})
    assert refused.returncode == 2, refused.stdout
    assert "development default" in refused.stderr


def test_interpolation_follows_compose() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET}-${SET:-d}-${EMPTY:-d}-${EMPTY-d}-${UNSET-d}-$${SET}", env) == "x-x-d--d-${SET}"
    with pytest.raises(KeyError, match="EMPTY: needed"):
        interpolate("${EMPTY:?needed}", env)


# ---- (d) hadolint --------------------------------------------------------------------------------------------


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    # "style" is the lowest severity: any finding fails. Ignore a rule inline, with the reason, if ever needed.
    return subprocess.run(
        [console_script("hadolint"), "--no-color", "--failure-threshold", "style", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("name", SERVICES)
def test_hadolint_passes(repo_root: Path, name: str) -> None:
    result = _hadolint(repo_root / "services" / name / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_passes_on_the_emulator(repo_root: Path) -> None:
    for spec in (s for s in _specs(repo_root) if s.dev):
        result = _hadolint(repo_root / deploy.dockerfile_path(spec))
        assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_an_unpinned_install(tmp_path: Path, repo_root: Path) -> None:
    text = (repo_root / "services" / "gateway" / "Dockerfile").read_text()
    pinned = f'"uv=={deploy.UV_VERSION}"'
    assert pinned in text
    broken = tmp_path / "Dockerfile"
    broken.write_text(text.replace(pinned, "uv"))
    result = _hadolint(broken)
    assert result.returncode != 0
    assert "DL3013" in result.stdout


def test_hadolint_passes_on_the_stand_in_base(repo_root: Path) -> None:
    from pm_devstack.images import STANDIN_CONTAINERFILE

    result = _hadolint(repo_root / STANDIN_CONTAINERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
