"""Apache Kafka 4.4.0 in KRaft combined mode (one broker+controller), jars from Maven Central."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import shutil
import subprocess
import uuid
from importlib import resources
from pathlib import Path

from pm_devstack.component import ProcessComponent
from pm_devstack.config import HOST
from pm_devstack.ports import can_connect
from pm_devstack.procs import live_pid, run_blocking, spawn

KAFKA_VERSION = "4.4.0"
POM_RESOURCE = "kafka-pom.xml"
LOG4J_RESOURCE = "kafka-log4j2.xml"
INSTALLED_MARKER = ".installed"  # holds the hash of the pom the jars came from
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
HEAP = ["-Xms256m", "-Xmx512m"]


def _resource_bytes(name: str) -> bytes:
    return resources.files("pm_devstack.resources").joinpath(name).read_bytes()


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (what ``random-uuid`` prints).

    Like Kafka's own ``Uuid.randomUuid`` we avoid ids starting with "-", which its CLI would take for
    an option. Generated here to save a JVM start.
    """
    while True:
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not value.startswith("-"):
            return value


def render_server_properties(port: int, controller_port: int, log_dirs: Path) -> str:
    """One combined broker+controller node on 127.0.0.1 with single-replica internal topics."""
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        # Static quorum: format must then run WITHOUT --standalone (the tool refuses the combination).
        "controller.quorum.voters": f"1@{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(log_dirs),
        # Services rely on topics appearing on first use; 3 partitions so per-key ordering is exercised.
        "auto.create.topics.enable": "true",
        "num.partitions": "3",
        # A single node: every replicated internal topic must settle for one replica.
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Tests create many short-lived consumer groups: do not wait 3 s for more members to join.
        "group.initial.rebalance.delay.ms": "0",
    }
    header = "# Written by pm_devstack on every start; edits here are overwritten.\n"
    return header + "".join(f"{key}={value}\n" for key, value in lines.items())


async def _metadata_ok(bootstrap: str, limit_s: float) -> bool:
    # Imported here: aiokafka is only needed for this probe, and the CLI's other commands stay quick.
    from aiokafka.admin import AIOKafkaAdminClient

    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(limit_s * 1000))
    try:
        async with asyncio.timeout(limit_s):
            await client.start()
            cluster = await client.describe_cluster()
        return bool(cluster.get("brokers"))
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False  # the caller polls again
    finally:
        with contextlib.suppress(Exception):
            await client.close()


class KafkaServer(ProcessComponent):
    """A private Kafka broker: jars in ``libs_dir``, config, cluster id and data in ``state_dir``.

    Reusable on its own, e.g. a test that needs a broker it can stop and restart::

        server = KafkaServer(tmp_path, port=29092, controller_port=29093, libs_dir=shared_libs)
        server.install(); server.start(); server.wait_healthy(); ...; server.stop()

    Data survives ``stop``/``start`` (same ``log.dirs``), so topics and committed offsets persist.
    """

    name = "kafka"

    def __init__(
        self,
        state_dir: Path,
        port: int,
        controller_port: int,
        *,
        libs_dir: Path | None = None,
        log_path: Path | None = None,
        pid_path: Path | None = None,
        name: str = "kafka",
    ) -> None:
        self.name = name
        self.state_dir = state_dir
        self.port = port
        self.controller_port = controller_port
        self.libs_dir = libs_dir or state_dir / "libs"
        self.log_path = log_path or state_dir / "kafka.log"
        self.pid_path = pid_path or state_dir / "kafka.pid"
        self.data_dir = state_dir / "data"
        self.properties_path = state_dir / "server.properties"
        self.log4j_path = state_dir / "log4j2.xml"
        self.cluster_id_path = state_dir / "cluster-id"

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    def listen_ports(self) -> list[int]:
        return [self.port, self.controller_port]

    # ---- install --------------------------------------------------------------------------------------

    def system_packages(self) -> list[str]:
        missing = []
        if shutil.which("java") is None:
            missing.append("default-jre-headless")
        if shutil.which("mvn") is None and not self.is_installed():
            missing.append("maven")
        return missing

    @staticmethod
    def _pom_hash() -> str:
        return hashlib.sha256(_resource_bytes(POM_RESOURCE)).hexdigest()

    def is_installed(self) -> bool:
        marker = self.libs_dir / INSTALLED_MARKER
        return marker.is_file() and marker.read_text().strip() == self._pom_hash()

    def install(self) -> None:
        """Copy Kafka's jars into ``libs_dir`` with Maven unless they are there (from the same pom).

        Downloads into a sibling directory and renames it into place, so an interrupted download never
        leaves a half-filled libs dir that looks installed.
        """
        if self.is_installed():
            return
        if shutil.which("mvn") is None:
            raise self.error("Maven (mvn) is not installed; it fetches the Kafka jars")
        parent = self.libs_dir.parent
        parent.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        staging = parent / f".{self.libs_dir.name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        pom = parent / POM_RESOURCE  # outside the package, so Maven's working files stay in the state dir
        pom.write_bytes(_resource_bytes(POM_RESOURCE))
        argv = [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, cwd=parent, check=False)
        if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            raise self.error("fetching the Kafka jars with Maven failed")
        (staging / INSTALLED_MARKER).write_text(self._pom_hash() + "\n")
        shutil.rmtree(self.libs_dir, ignore_errors=True)
        staging.rename(self.libs_dir)

    # ---- run ------------------------------------------------------------------------------------------

    def _java(self, main_class: str, *args: str, heap: list[str] = HEAP) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise self.error("java is not installed")
        return [
            java,
            *heap,
            "-XX:+UseG1GC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_path}",
            "-cp",
            f"{self.libs_dir}/*",
            main_class,
            *args,
        ]

    def cluster_id(self) -> str:
        """The cluster id this state dir was (or will be) formatted with, generated once and kept."""
        if self.cluster_id_path.is_file():
            return self.cluster_id_path.read_text().strip()
        value = new_cluster_id()
        self.cluster_id_path.write_text(value + "\n")
        return value

    def _format_once(self) -> None:
        if (self.data_dir / "meta.properties").is_file():
            return
        argv = self._java(
            STORAGE_TOOL,
            "format",
            "-t",
            self.cluster_id(),
            "-c",
            str(self.properties_path),
            heap=["-Xmx256m"],
        )
        with self.log_path.open("ab") as log:
            result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise self.error("formatting the KRaft storage failed")

    def pid(self) -> int | None:
        return live_pid(self.pid_path, MAIN_CLASS)

    def start(self) -> None:
        """Write the config, format storage on first use, launch the JVM. Does not wait for health."""
        if self.is_running():
            return
        self.ensure_ports_free()
        if not self.is_installed():
            raise self.error(f"Kafka jars are not installed in {self.libs_dir}")
        for directory in (self.state_dir, self.pid_path.parent, self.log_path.parent):
            directory.mkdir(parents=True, exist_ok=True)
        self.properties_path.write_text(
            render_server_properties(self.port, self.controller_port, self.data_dir)
        )
        self.log4j_path.write_bytes(_resource_bytes(LOG4J_RESOURCE))
        self._format_once()
        spawn(
            self._java(MAIN_CLASS, str(self.properties_path)),
            log_path=self.log_path,
            cwd=self.state_dir,
            pid_path=self.pid_path,
        )

    def check_health(self, timeout: float = 3.0) -> bool:
        """The port accepts connections and a metadata request lists a broker."""
        if not can_connect(self.port):
            return False
        return run_blocking(_metadata_ok(self.bootstrap_servers, timeout))
