"""The native stack's wiring: which components exist, where they keep state, how services reach them.

Importable by tests and tools. Nothing here starts a process; building a :class:`Stack` reads
proto/services.yaml and (on first use of a secret) creates ``.state/env``.

For tests::

    from pm_devstack import stack
    ep = stack.infra_endpoints()        # admin_dsn, redis_url, kafka_bootstrap, s3_endpoint, s3 keys
    env = stack.service_env("auth")     # the exact environment `up` gives the auth service
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from pm_devstack.component import Component
from pm_devstack.config import DATABASE_NAME, HOST, PG_SUPERUSER, S3_BUCKET, S3_REGION, StackConfig
from pm_devstack.envfile import (
    IDENTITY_SIGNING_KEY,
    JWT_SECRET,
    MASTER_KEY,
    PG_SUPERUSER_PASSWORD,
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    SERVICE_TOKEN,
    Secrets,
    identity_public_key,
    load_or_create,
)
from pm_devstack.errors import DevstackError
from pm_devstack.kafka import KafkaServer
from pm_devstack.ports import describe_collisions, find_collisions
from pm_devstack.postgres import PostgresServer
from pm_devstack.redis import RedisServer
from pm_devstack.s3 import SeaweedServer
from pm_devstack.service import ServiceProcess
from pm_devstack.services_file import ServiceSpec, load_services

CORS_ORIGINS = "http://localhost:3000"
# The provider emulator's development OAuth clients and the real hosts it mounts (auth's URL variables).
_EMULATOR_CLIENTS = {
    "spotify": {"CLIENT_ID": "pm-dev-spotify", "CLIENT_SECRET": "pm-dev-spotify-secret"},
    "deezer": {"CLIENT_ID": "pm-dev-deezer", "CLIENT_SECRET": "pm-dev-deezer-secret"},
    "tidal": {"CLIENT_ID": "pm-dev-tidal", "CLIENT_SECRET": "pm-dev-tidal-secret"},
    "youtube": {
        "CLIENT_ID": "pm-dev-youtube.apps.googleusercontent.com",
        "CLIENT_SECRET": "pm-dev-youtube-secret",
    },
}
# Public: tests that run auth against their own emulator point the same variables at it.
PROVIDER_HOSTS = {
    "SPOTIFY_ACCOUNTS_URL": "accounts.spotify.com",
    "SPOTIFY_API_URL": "api.spotify.com",
    "DEEZER_CONNECT_URL": "connect.deezer.com",
    "DEEZER_API_URL": "api.deezer.com",
    "TIDAL_AUTH_URL": "auth.tidal.com",
    "TIDAL_LOGIN_URL": "login.tidal.com",
    "TIDAL_API_URL": "openapi.tidal.com",
    "GOOGLE_ACCOUNTS_URL": "accounts.google.com",
    "GOOGLE_OAUTH2_URL": "oauth2.googleapis.com",
    "YOUTUBE_API_URL": "www.googleapis.com",
}
# The services that call the providers (pm_providers.settings.ProviderHostSettings): the stack points
# their provider hosts at the emulator.
PROVIDER_CALLERS = ("auth", "provider-sync")
# MusicBrainz, the catalogue the enrichment service asks about ISRCs (pm_providers' MusicBrainz client):
# the stack points it at the emulator's MusicBrainz and names itself in the User-Agent MusicBrainz asks for.
LOOKUP_HOSTS = {"MUSICBRAINZ_URL": "musicbrainz.org"}
LOOKUP_CALLERS = ("enrichment",)
MUSICBRAINZ_USER_AGENT = "PlaylistManagerDevstack/0.1 ( http://127.0.0.1:3101 )"
LOG_LEVEL = "info"
# The native stack's job lease (production keeps the default two minutes).
JOB_LEASE_S = "20"
ENVIRONMENT = "development"
# The gateway believes X-Forwarded-For only from these peers (its own default: nobody). The stack's
# clients reach it over loopback, and the e2e tests play many clients with X-Forwarded-For.
GATEWAY_TRUSTED_PROXIES = "127.0.0.1,::1"


@dataclass(frozen=True)
class InfraEndpoints:
    """How to reach the stack's servers; what integration tests need (they make their own databases)."""

    admin_dsn: str  # superuser, database "postgres": CREATE DATABASE for throwaway test databases
    redis_url: str
    kafka_bootstrap: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_region: str = S3_REGION
    s3_bucket: str = S3_BUCKET
    database_name: str = DATABASE_NAME


class Stack:
    """One native stack: configuration, the service list and secrets, and the components built from them."""

    def __init__(self, config: StackConfig, specs: list[ServiceSpec] | None = None) -> None:
        self.config = config
        self.specs = specs if specs is not None else load_services(config.services_file)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Stack:
        return cls(StackConfig.from_env(environ))

    @cached_property
    def secrets(self) -> Secrets:
        schemas = [spec.schema for spec in self.specs if spec.schema is not None]
        return load_or_create(self.config.env_file, schemas)

    # ---- the service list -----------------------------------------------------------------------------

    def service_specs(self, include_dev: bool = True) -> list[ServiceSpec]:
        return [spec for spec in self.specs if include_dev or not spec.dev]

    def spec(self, name: str) -> ServiceSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        known = ", ".join(spec.name for spec in self.specs)
        raise DevstackError(name, f"unknown service (known: {known})")

    @property
    def gateway_url(self) -> str:
        public = [spec for spec in self.specs if spec.public]
        port = public[0].port if public else 3101
        return f"http://{HOST}:{port}"

    # ---- components -----------------------------------------------------------------------------------

    def postgres(self) -> PostgresServer:
        c = self.config
        return PostgresServer(
            c.state_dir / "postgres",
            c.pg_port,
            self.secrets[PG_SUPERUSER_PASSWORD],
            log_path=c.log_path("postgres"),
            pid_link=c.pid_path("postgres"),
            owned_root=c.state_dir,
        )

    def redis(self) -> RedisServer:
        c = self.config
        return RedisServer(
            c.state_dir / "redis", c.redis_port, log_path=c.log_path("redis"), pid_path=c.pid_path("redis")
        )

    def kafka(self) -> KafkaServer:
        c = self.config
        return KafkaServer(
            c.state_dir / "kafka",
            c.kafka_port,
            c.kafka_controller_port,
            log_path=c.log_path("kafka"),
            pid_path=c.pid_path("kafka"),
        )

    def s3(self) -> SeaweedServer:
        c = self.config
        return SeaweedServer(
            c.state_dir / "s3",
            c.s3_port,
            self.secrets[S3_ACCESS_KEY],
            self.secrets[S3_SECRET_KEY],
            buckets=[S3_BUCKET],
            log_path=c.log_path("s3"),
            pid_path=c.pid_path("s3"),
        )

    @property
    def infra_mode(self) -> str:
        """``native`` (processes) or ``containers`` (``PM_INFRA=containers``, pm_devstack.containers)."""
        return self.config.infra

    def infra(self) -> list[Component]:
        """In start order; stop in reverse."""
        if self.infra_mode == "containers":
            from pm_devstack.containers import infra_components

            access, secret = self.s3_credentials()
            return infra_components(
                self.config,
                pg_password=self.secrets[PG_SUPERUSER_PASSWORD],
                s3_access_key=access,
                s3_secret_key=secret,
            )
        return [self.postgres(), self.redis(), self.kafka(), self.s3()]

    def service(self, name: str) -> ServiceProcess:
        spec = self.spec(name)
        return ServiceProcess(
            spec,
            self.service_env(name),
            cwd=self.config.repo_root,
            log_path=self.config.log_path(spec.name),
            pid_path=self.config.pid_path(spec.name),
        )

    def services(self, include_dev: bool = True) -> list[ServiceProcess]:
        return [self.service(spec.name) for spec in self.service_specs(include_dev)]

    def component(self, name: str) -> Component:
        """An infra component or a service by name (for ``restart``)."""
        for infra in self.infra():
            if infra.name == name:
                return infra
        if name not in {spec.name for spec in self.specs}:
            known = ", ".join([infra.name for infra in self.infra()] + [spec.name for spec in self.specs])
            raise DevstackError(name, f"unknown component (known: {known})")
        return self.service(name)

    # ---- ports ----------------------------------------------------------------------------------------

    def port_claims(self, include_dev: bool = True) -> list[tuple[str, int]]:
        claims = [(infra.name, port) for infra in self.infra() for port in infra.listen_ports()]
        return claims + [(spec.name, spec.port) for spec in self.service_specs(include_dev)]

    def check_port_plan(self, include_dev: bool = True) -> None:
        """Fail before starting anything when two components are configured on the same port."""
        collisions = find_collisions(self.port_claims(include_dev))
        if collisions:
            raise DevstackError("config", describe_collisions(collisions))

    # ---- connection details ---------------------------------------------------------------------------

    def admin_dsn(self) -> str:
        password = self.secrets[PG_SUPERUSER_PASSWORD]
        return f"postgresql://{PG_SUPERUSER}:{password}@{HOST}:{self.config.pg_port}/postgres"

    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.config.redis_port}/0"

    def kafka_bootstrap(self) -> str:
        return f"{HOST}:{self.config.kafka_port}"

    def s3_endpoint(self) -> str:
        return f"http://{HOST}:{self.config.s3_port}"

    def s3_credentials(self) -> tuple[str, str]:
        return self.secrets[S3_ACCESS_KEY], self.secrets[S3_SECRET_KEY]

    def infra_endpoints(self) -> InfraEndpoints:
        access, secret = self.s3_credentials()
        return InfraEndpoints(
            admin_dsn=self.admin_dsn(),
            redis_url=self.redis_url(),
            kafka_bootstrap=self.kafka_bootstrap(),
            s3_endpoint=self.s3_endpoint(),
            s3_access_key=access,
            s3_secret_key=secret,
        )

    def database_url(self, spec: ServiceSpec) -> str:
        assert spec.schema is not None
        password = self.secrets.role_password(spec.schema)
        return f"postgresql://{spec.role}:{password}@{HOST}:{self.config.pg_port}/{DATABASE_NAME}"

    def database_roles(self) -> dict[str, tuple[str, str]]:
        """``schema → (role, password)`` for every service that has a schema (bootstrap input)."""
        return {
            spec.schema: (spec.role, self.secrets.role_password(spec.schema))
            for spec in self.specs
            if spec.schema is not None
        }

    def _secret_file(self, service: str, name: str, value: str) -> str:
        """The path of ``<state>/secrets/<service>/<name>`` (a 0700 directory, a 0600 file), written with
        ``value`` only when it does not exist yet: created once from .state/env, then the file rules
        (an operator rotating a key rewrites it)."""
        folder = self.config.state_dir / "secrets" / service
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / name
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(value + "\n")
        return str(path)

    def service_env(self, name: str) -> dict[str, str]:
        """The complete environment of service ``name`` (dev helpers get only the basics and Redis)."""
        spec = self.spec(name)
        env = {
            "ENVIRONMENT": ENVIRONMENT,
            "SERVICE_NAME": spec.name,
            # Loopback only, explicitly: a HOST exported by the caller's shell must not widen the bind.
            "HOST": HOST,
            "PORT": str(spec.port),
            "LOG_LEVEL": LOG_LEVEL,
            "REDIS_URL": self.redis_url(),
        }
        if spec.dev:
            return env
        access, secret = self.s3_credentials()
        env |= {
            "DATABASE_URL": self.database_url(spec),
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap(),
            "S3_ENDPOINT": self.s3_endpoint(),
            "S3_BUCKET": S3_BUCKET,
            "S3_REGION": S3_REGION,
            "AWS_ACCESS_KEY_ID": access,
            "AWS_SECRET_ACCESS_KEY": secret,
            "MASTER_KEY": self.secrets[MASTER_KEY],
            "JWT_SECRET": self.secrets[JWT_SECRET],
            "SERVICE_TOKEN": self.secrets[SERVICE_TOKEN],
            "CORS_ORIGINS": CORS_ORIGINS,
            "API_BASE_URL": self.gateway_url,
            # A job whose worker was killed is taken up again within seconds, not two minutes: a developer
            # (and the e2e tests) restart services often.
            "JOB_LEASE_S": JOB_LEASE_S,
        }
        # Every service's base URL, so the gateway (and any caller of /internal/...) finds its upstreams.
        env |= {other.url_variable: f"http://{HOST}:{other.port}" for other in self.specs}
        # The identity keys as secret files, so a running service re-reads them on SIGHUP (rotation of
        # the identity key without a restart, docs/operations.md). Every service verifies assertions with
        # the public keys; only the gateway signs them.
        env["IDENTITY_PUBLIC_KEYS_FILE"] = self._secret_file(
            spec.name, "identity_public_keys", identity_public_key(self.secrets[IDENTITY_SIGNING_KEY])
        )
        if spec.public:
            env["IDENTITY_SIGNING_KEY_FILE"] = self._secret_file(
                spec.name, "identity_signing_key", self.secrets[IDENTITY_SIGNING_KEY]
            )
            env["TRUSTED_PROXIES"] = GATEWAY_TRUSTED_PROXIES
        if spec.name == "auth":
            # The master keys as secret files, so a running auth re-reads them on SIGHUP (key rotation
            # without a restart, docs/operations.md).
            del env["MASTER_KEY"]
            env |= {
                "MASTER_KEY_FILE": self._secret_file(spec.name, "master_key", self.secrets[MASTER_KEY]),
                "MASTER_KEY_PREVIOUS_FILE": self._secret_file(spec.name, "master_key_previous", ""),
            }
            # OAuth against the provider emulator's development clients; callbacks through the gateway.
            env |= {f"{p.upper()}_{k}": v for p, c in _EMULATOR_CLIENTS.items() for k, v in c.items()}
            env |= {
                f"{p.upper()}_REDIRECT_URI": f"{self.gateway_url}/api/v1/auth/{p}/callback"
                for p in _EMULATOR_CLIENTS
            }
        if spec.name in PROVIDER_CALLERS:
            # The providers are the emulator's: auth links and refreshes there, provider-sync reads there.
            emulator = f"http://{HOST}:{self.spec('provider-emulator').port}"
            env |= {variable: f"{emulator}/{host}" for variable, host in PROVIDER_HOSTS.items()}
        if spec.name in LOOKUP_CALLERS:
            # enrichment asks the emulator's MusicBrainz about ISRCs (docs/enrichment.md).
            emulator = f"http://{HOST}:{self.spec('provider-emulator').port}"
            env |= {variable: f"{emulator}/{host}" for variable, host in LOOKUP_HOSTS.items()}
            env["MUSICBRAINZ_USER_AGENT"] = MUSICBRAINZ_USER_AGENT
        return env


# ---- module-level conveniences (each builds a Stack from the environment at call time) -------------------


def default_stack(config: StackConfig | None = None) -> Stack:
    return Stack(config) if config is not None else Stack.from_env()


def service_env(name: str, config: StackConfig | None = None) -> dict[str, str]:
    return default_stack(config).service_env(name)


def infra_endpoints(config: StackConfig | None = None) -> InfraEndpoints:
    return default_stack(config).infra_endpoints()


def admin_dsn(config: StackConfig | None = None) -> str:
    return default_stack(config).admin_dsn()


def redis_url(config: StackConfig | None = None) -> str:
    return default_stack(config).redis_url()


def kafka_bootstrap(config: StackConfig | None = None) -> str:
    return default_stack(config).kafka_bootstrap()


def s3_endpoint(config: StackConfig | None = None) -> str:
    return default_stack(config).s3_endpoint()


def s3_credentials(config: StackConfig | None = None) -> tuple[str, str]:
    return default_stack(config).s3_credentials()
