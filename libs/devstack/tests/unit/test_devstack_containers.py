"""The pure parts of PM_INFRA=containers: the switch, and each container's settings (the native ones)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pm_devstack.config import StackConfig
from pm_devstack.containers import (
    INFRA_IMAGES,
    ContainerSpec,
    container_name,
    kafka_container_properties,
    postgres_args,
    redis_container_args,
    weed_container_args,
)
from pm_devstack.errors import DevstackError
from pm_devstack.tools import console_script

REPO = Path(__file__).resolve().parents[4]


def _config(tmp_path: Path, **env: str) -> StackConfig:
    return StackConfig.from_env({"PM_STATE_DIR": str(tmp_path), **env}, repo_root=tmp_path)


def test_infra_switch_defaults_to_native(tmp_path: Path) -> None:
    assert _config(tmp_path).infra == "native"
    assert _config(tmp_path, PM_INFRA="").infra == "native"
    assert _config(tmp_path, PM_INFRA="containers").infra == "containers"
    with pytest.raises(DevstackError, match="PM_INFRA"):
        _config(tmp_path, PM_INFRA="docker")


def test_postgres_args_are_the_native_settings_on_every_address() -> None:
    args = postgres_args()
    settings = dict(arg.split("=", 1) for arg in args[1::2])
    assert set(args[::2]) == {"-c"}
    assert settings["listen_addresses"] == "*"
    assert settings["port"] == "5432"
    assert settings["fsync"] == "off"
    assert settings["max_connections"] == "300"
    assert settings["password_encryption"] == "scram-sha-256"


def test_redis_args_foreground_no_persistence() -> None:
    args = redis_container_args()
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert pairs["--daemonize"] == "no"
    assert pairs["--bind"] == "0.0.0.0"  # noqa: S104
    assert pairs["--save"] == ""
    assert pairs["--appendonly"] == "no"
    assert "--pidfile" not in pairs
    assert "--logfile" not in pairs


def test_kafka_advertises_the_published_host_port() -> None:
    text = kafka_container_properties(29092)
    props = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert props["listeners"] == "PLAINTEXT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert props["log.dirs"] == "/var/lib/kafka/data"
    assert props["offsets.topic.replication.factor"] == "1"


def test_weed_binds_every_address_and_creates_the_bucket() -> None:
    args = weed_container_args(["playlist-exports"])
    assert "-ip.bind=0.0.0.0" in args
    assert "-s3.port=8333" in args
    assert "-bucket=playlist-exports" in args
    assert not any(arg.startswith("-ip.bind=127.") for arg in args)


def test_container_names_differ_per_state_dir(tmp_path: Path) -> None:
    one = container_name(_config(tmp_path / "a"), "postgres")
    two = container_name(_config(tmp_path / "b"), "postgres")
    assert one != two
    assert one.endswith("-postgres")


def test_fingerprint_changes_with_the_port_and_settings() -> None:
    spec = ContainerSpec("img", 5432, env={"A": "1"}, command=["-c", "x=1"])
    assert spec.fingerprint(25432) == spec.fingerprint(25432)
    assert spec.fingerprint(25432) != spec.fingerprint(25433)
    assert spec.fingerprint(25432) != ContainerSpec("img", 5432, env={"A": "2"}).fingerprint(25432)


def test_every_image_has_its_containerfile_and_files() -> None:
    context = REPO / "deploy" / "images" / "infra"
    for image in INFRA_IMAGES.values():
        assert (context / image.containerfile).is_file()
        for file in image.files:
            assert (context / file).is_file()
        assert image.image.startswith("localhost/pm-infra/")


@pytest.mark.parametrize("image", sorted(INFRA_IMAGES))
def test_hadolint_passes_on_the_infrastructure_containerfiles(image: str) -> None:
    result = subprocess.run(
        [
            console_script("hadolint"),
            "--no-color",
            "--failure-threshold",
            "style",
            str(REPO / "deploy" / "images" / "infra" / INFRA_IMAGES[image].containerfile),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
