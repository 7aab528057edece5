from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pm_devstack.kafka import new_cluster_id, render_server_properties
from pm_devstack.postgres import find_bin_dir, render_conf, untraversable_dirs
from pm_devstack.redis import redis_command
from pm_devstack.redis import render_args as redis_args
from pm_devstack.s3 import internal_ports
from pm_devstack.s3 import render_args as weed_args


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_kafka_properties_single_combined_node(tmp_path: Path) -> None:
    props = _properties(render_server_properties(29092, 29093, tmp_path / "data"))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["auto.create.topics.enable"] == "true"
    assert props["num.partitions"] == "3"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
    ):
        assert props[key] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_kafka_cluster_id_shape() -> None:
    ids = {new_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", value) for value in ids)


def test_postgres_conf(tmp_path: Path) -> None:
    conf = render_conf(25432, tmp_path / "sock")
    assert "listen_addresses = '127.0.0.1'" in conf
    assert "port = 25432" in conf
    assert f"unix_socket_directories = '{tmp_path / 'sock'}'" in conf
    assert "fsync = off" in conf


def test_postgres_picks_the_highest_version(tmp_path: Path) -> None:
    for version in ("13", "15", "16"):
        (tmp_path / version / "bin").mkdir(parents=True)
    for version in ("13", "15"):
        (tmp_path / version / "bin" / "pg_ctl").touch()
    assert find_bin_dir(tmp_path) == tmp_path / "15" / "bin"  # 16 has no pg_ctl
    assert find_bin_dir(tmp_path / "empty") is None


def test_untraversable_dirs(tmp_path: Path) -> None:
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    (tmp_path / "a").chmod(0o700)
    try:
        other_uid = os.getuid() + 12345
        blocked = untraversable_dirs(inner, other_uid, {other_uid})
        assert tmp_path / "a" in blocked
        assert inner not in blocked
        assert untraversable_dirs(inner, os.getuid(), set()) == []
    finally:
        (tmp_path / "a").chmod(0o755)


def test_redis_args(tmp_path: Path) -> None:
    args = redis_args(26379, tmp_path, tmp_path / "r.pid", tmp_path / "r.log")
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert pairs["--port"] == "26379"
    assert pairs["--bind"] == "127.0.0.1"
    assert pairs["--save"] == ""
    assert pairs["--appendonly"] == "no"
    assert pairs["--daemonize"] == "yes"
    assert pairs["--pidfile"] == str(tmp_path / "r.pid")
    assert redis_command("SHUTDOWN", "NOSAVE") == b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n"


@pytest.mark.parametrize("s3_port", [18333, 21000])
def test_weed_pins_every_port(tmp_path: Path, s3_port: int) -> None:
    args = weed_args(tmp_path / "data", tmp_path / "run", s3_port, ["playlist-exports"])
    flags = dict(arg[1:].split("=", 1) for arg in args[1:])
    assert args[0] == "mini"
    assert flags["s3.port"] == str(s3_port)
    assert flags["ip.bind"] == "127.0.0.1"
    assert flags["bucket"] == "playlist-exports"
    assert (flags["admin.ui"], flags["webdav"], flags["master.telemetry"]) == ("false", "false", "false")
    assert (flags["s3.port.iceberg"], flags["s3.port.lance"]) == ("0", "0")
    for flag, port in internal_ports(s3_port).items():
        assert flags[flag] == str(port)
    for flag in ("master.port", "volume.port", "filer.port", "metricsPort", "admin.port", "s3.port.grpc"):
        assert flag in flags
