from __future__ import annotations

from pathlib import Path

import pytest

from pm_contracts.services import deployed_services
from pm_devstack import service as service_module
from pm_devstack.config import StackConfig
from pm_devstack.envfile import identity_public_key
from pm_devstack.errors import DevstackError
from pm_devstack.service import ServiceProcess
from pm_devstack.stack import LOOKUP_HOSTS, PROVIDER_HOSTS, Stack

SERVICE_KEYS = {
    "ENVIRONMENT",
    "SERVICE_NAME",
    "HOST",
    "PORT",
    "LOG_LEVEL",
    "DATABASE_URL",
    "REDIS_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "S3_ENDPOINT",
    "S3_BUCKET",
    "S3_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "MASTER_KEY",
    "JWT_SECRET",
    "SERVICE_TOKEN",
    "IDENTITY_PUBLIC_KEYS_FILE",
    "CORS_ORIGINS",
    "API_BASE_URL",
    "JOB_LEASE_S",
}
URL_KEYS = {
    "GATEWAY_URL",
    "AUTH_URL",
    "PLAYLIST_URL",
    "PROVIDER_SYNC_URL",
    "EXPORT_URL",
    "ENRICHMENT_URL",
    "PROVIDER_EMULATOR_URL",
}


def test_service_env_is_complete(tmp_stack: Stack) -> None:
    env = tmp_stack.service_env("provider-sync")
    assert set(env) == SERVICE_KEYS | URL_KEYS | set(PROVIDER_HOSTS)
    assert env["SERVICE_NAME"] == "provider-sync"
    assert env["PORT"] == "3104"
    assert env["ENVIRONMENT"] == "development"
    password = tmp_stack.secrets.role_password("provider_sync")
    assert env["DATABASE_URL"] == f"postgresql://pm_provider_sync:{password}@127.0.0.1:15432/playlistmgr"
    assert env["REDIS_URL"] == "redis://127.0.0.1:16379/0"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19092"
    assert env["S3_ENDPOINT"] == "http://127.0.0.1:18333"
    assert (env["S3_BUCKET"], env["S3_REGION"]) == ("playlist-exports", "us-east-1")
    assert env["API_BASE_URL"] == "http://127.0.0.1:3101"
    assert env["PROVIDER_EMULATOR_URL"] == "http://127.0.0.1:3199"
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == tmp_stack.s3_credentials()


def test_each_service_has_its_own_role_and_shared_secrets(tmp_stack: Stack) -> None:
    auth, export = tmp_stack.service_env("auth"), tmp_stack.service_env("export")
    assert auth["DATABASE_URL"].startswith("postgresql://pm_auth:")
    assert export["DATABASE_URL"].startswith("postgresql://pm_export:")
    for key in ("JWT_SECRET", "SERVICE_TOKEN", "AWS_SECRET_ACCESS_KEY"):
        assert auth[key] == export[key]
    # auth reads its master keys from files (re-read on SIGHUP for rotation), first written from .state/env.
    assert "MASTER_KEY" not in auth
    assert Path(auth["MASTER_KEY_FILE"]).read_text().strip() == export["MASTER_KEY"]
    assert Path(auth["MASTER_KEY_PREVIOUS_FILE"]).read_text().strip() == ""


def test_only_the_gateway_gets_the_identity_signing_key(tmp_stack: Stack) -> None:
    signing_key = tmp_stack.secrets["IDENTITY_SIGNING_KEY"]
    public_key = identity_public_key(signing_key)
    state = tmp_stack.config.state_dir / "secrets"
    for spec in tmp_stack.service_specs(include_dev=False):
        env = tmp_stack.service_env(spec.name)
        # As files each service re-reads on SIGHUP (rotation without a restart), written from .state/env.
        assert "IDENTITY_PUBLIC_KEYS" not in env and "IDENTITY_SIGNING_KEY" not in env, spec.name
        public_file = Path(env["IDENTITY_PUBLIC_KEYS_FILE"])
        assert public_file == state / spec.name / "identity_public_keys"
        assert public_file.read_text().strip() == public_key, spec.name
        if spec.name == "gateway":
            signing_file = Path(env["IDENTITY_SIGNING_KEY_FILE"])
            assert signing_file == state / "gateway" / "identity_signing_key"
            assert signing_file.read_text().strip() == signing_key
            assert signing_file.stat().st_mode & 0o777 == 0o600
            assert signing_file.parent.stat().st_mode & 0o777 == 0o700
        else:
            assert "IDENTITY_SIGNING_KEY_FILE" not in env, spec.name
            assert signing_key not in env.values(), spec.name
            assert not (state / spec.name / "identity_signing_key").exists(), spec.name
    # Stable across restarts: generated once into .state/env like the other secrets.
    again = Stack(tmp_stack.config).service_env("gateway")
    assert Path(again["IDENTITY_SIGNING_KEY_FILE"]).read_text().strip() == signing_key


def test_a_rotated_identity_key_file_is_kept(tmp_stack: Stack) -> None:
    """Written once: a later start must not undo an operator's rotation by rewriting the files."""
    gateway = tmp_stack.service_env("gateway")
    Path(gateway["IDENTITY_SIGNING_KEY_FILE"]).write_text("rotated\n")
    Path(gateway["IDENTITY_PUBLIC_KEYS_FILE"]).write_text("a,b\n")
    again = Stack(tmp_stack.config).service_env("gateway")
    assert Path(again["IDENTITY_SIGNING_KEY_FILE"]).read_text() == "rotated\n"
    assert Path(again["IDENTITY_PUBLIC_KEYS_FILE"]).read_text() == "a,b\n"


def test_the_services_that_call_providers_reach_the_emulator_and_no_other_does(tmp_stack: Stack) -> None:
    """auth (linking, refreshing) and provider-sync (reading and writing playlists) call the providers:
    the stack points every provider host of theirs at the emulator; the other services get none."""
    for spec in tmp_stack.service_specs(include_dev=False):
        env = tmp_stack.service_env(spec.name)
        if spec.name in ("auth", "provider-sync"):
            assert {env[v] for v in PROVIDER_HOSTS} == {
                f"http://127.0.0.1:3199/{host}" for host in PROVIDER_HOSTS.values()
            }, spec.name
        else:
            assert not set(PROVIDER_HOSTS) & set(env), spec.name


def test_enrichment_asks_the_emulators_musicbrainz_with_an_agent_it_accepts(tmp_stack: Stack) -> None:
    """enrichment looks ISRCs up at MusicBrainz (docs/enrichment.md): the stack points it at the emulator's,
    with a User-Agent MusicBrainz (and ProviderSettings) accept; nobody else gets MusicBrainz."""
    from pm_providers.settings import MUSICBRAINZ_USER_AGENT_RE

    for spec in tmp_stack.service_specs(include_dev=False):
        env = tmp_stack.service_env(spec.name)
        if spec.name == "enrichment":
            assert env["MUSICBRAINZ_URL"] == "http://127.0.0.1:3199/musicbrainz.org"
            assert MUSICBRAINZ_USER_AGENT_RE.fullmatch(env["MUSICBRAINZ_USER_AGENT"])
        else:
            assert not {*LOOKUP_HOSTS, "MUSICBRAINZ_USER_AGENT"} & set(env), spec.name


def test_emulator_gets_only_the_basics(tmp_stack: Stack) -> None:
    assert tmp_stack.service_env("provider-emulator") == {
        "ENVIRONMENT": "development",
        "SERVICE_NAME": "provider-emulator",
        "HOST": "127.0.0.1",
        "PORT": "3199",
        "LOG_LEVEL": "info",
        "REDIS_URL": "redis://127.0.0.1:16379/0",
    }


def test_every_process_of_the_stack_listens_on_loopback_only(tmp_stack: Stack) -> None:
    # Explicitly: the services' own default is loopback too, but a HOST exported by the caller's shell
    # must not widen it (the stack's values win over the inherited environment).
    for spec in tmp_stack.service_specs(include_dev=True):
        assert tmp_stack.service_env(spec.name)["HOST"] == "127.0.0.1", spec.name
        process = tmp_stack.service(spec.name)
        assert process.env["HOST"] == "127.0.0.1", spec.name


def test_a_host_in_the_callers_environment_does_not_widen_the_bind(
    tmp_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: dict[str, dict[str, str]] = {}

    def spawn(argv: list[str], *, env: dict[str, str], pid_path: Path, **_: object) -> None:
        started[argv[2]] = env

    monkeypatch.setattr(service_module, "spawn", spawn)
    monkeypatch.setattr(ServiceProcess, "ensure_ports_free", lambda self: None)
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 - what must not leak into the stack
    tmp_stack.config.run_dir.mkdir(parents=True, exist_ok=True)
    for process in tmp_stack.services(include_dev=True):
        process.start()
    assert sorted(started) == sorted(spec.package for spec in tmp_stack.service_specs(include_dev=True))
    assert {package: env["HOST"] for package, env in started.items()} == dict.fromkeys(started, "127.0.0.1")


def test_the_emulator_reads_the_host_the_stack_gives_it(
    tmp_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pm_provider_emulator.settings import EmulatorSettings

    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 - the caller's, overridden by the stack's
    for key, value in tmp_stack.service_env("provider-emulator").items():
        monkeypatch.setenv(key, value)
    assert EmulatorSettings().host == "127.0.0.1"


def test_only_the_gateway_trusts_forwarded_headers_and_only_from_loopback(tmp_stack: Stack) -> None:
    # The gateway trusts no proxy by default; the stack's clients (the e2e tests) reach it over loopback
    # and play many clients with X-Forwarded-For.
    for spec in tmp_stack.service_specs(include_dev=True):
        env = tmp_stack.service_env(spec.name)
        if spec.name == "gateway":
            assert env["TRUSTED_PROXIES"] == "127.0.0.1,::1"
        else:
            assert "TRUSTED_PROXIES" not in env, spec.name


def test_env_is_stable_and_follows_port_overrides(tmp_path: Path, repo_root: Path) -> None:
    state = tmp_path / "state"
    first = Stack(StackConfig(repo_root=repo_root, state_dir=state)).service_env("auth")
    moved = Stack(StackConfig(repo_root=repo_root, state_dir=state, pg_port=25432, redis_port=26379))
    second = moved.service_env("auth")
    assert second["JWT_SECRET"] == first["JWT_SECRET"]
    assert second["DATABASE_URL"] == first["DATABASE_URL"].replace(":15432/", ":25432/")
    assert second["REDIS_URL"] == "redis://127.0.0.1:26379/0"


def test_infra_endpoints_for_tests(tmp_stack: Stack) -> None:
    ep = tmp_stack.infra_endpoints()
    password = tmp_stack.secrets["PG_SUPERUSER_PASSWORD"]
    assert ep.admin_dsn == f"postgresql://postgres:{password}@127.0.0.1:15432/postgres"
    assert (ep.redis_url, ep.kafka_bootstrap) == ("redis://127.0.0.1:16379/0", "127.0.0.1:19092")
    assert (ep.s3_access_key, ep.s3_secret_key) == tmp_stack.s3_credentials()
    assert ep.s3_endpoint == "http://127.0.0.1:18333"


def test_bootstrap_roles_cover_every_schema(tmp_stack: Stack) -> None:
    roles = tmp_stack.database_roles()
    assert sorted(roles) == sorted(spec.schema for spec in deployed_services())
    assert roles["provider_sync"][0] == "pm_provider_sync"


def test_unknown_service(tmp_stack: Stack) -> None:
    with pytest.raises(DevstackError, match="unknown service"):
        tmp_stack.service_env("nope")
