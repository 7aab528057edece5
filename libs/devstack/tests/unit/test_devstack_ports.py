from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pm_devstack.config import StackConfig
from pm_devstack.errors import DevstackError
from pm_devstack.ports import find_collisions, port_in_use
from pm_devstack.s3 import internal_ports
from pm_devstack.stack import Stack


def test_find_collisions() -> None:
    claims = [("a", 1), ("b", 2), ("c", 1), ("d", 3), ("d", 2)]
    assert find_collisions(claims) == {1: ["a", "c"], 2: ["b", "d"]}
    assert find_collisions([("a", 1), ("b", 2)]) == {}


def test_default_plan_has_no_collisions(tmp_stack: Stack) -> None:
    tmp_stack.check_port_plan(include_dev=True)
    claims = dict((port, owner) for owner, port in tmp_stack.port_claims())
    # weed's private ports are part of the plan, in their own range.
    assert {port for port, owner in claims.items() if owner == "s3"} >= {18333, 28334, 28342, 38342}


@pytest.mark.parametrize(
    ("override", "clash"),
    [
        ({"pg_port": 3101}, "postgres and gateway|gateway and postgres"),
        ({"kafka_controller_port": 16379}, "redis and kafka"),
        ({"redis_port": 28336}, "redis and s3"),
    ],
)
def test_overrides_that_collide_are_refused(
    tmp_path: Path, repo_root: Path, override: dict[str, int], clash: str
) -> None:
    stack = Stack(StackConfig(repo_root=repo_root, state_dir=tmp_path, **override))
    with pytest.raises(DevstackError, match=clash):
        stack.check_port_plan()


def test_weed_ports_are_distinct_and_bounded() -> None:
    ports = internal_ports(18333)
    assert len(set(ports.values())) == len(ports)
    assert 18333 not in ports.values()
    assert all(28000 < port < 40000 for port in ports.values())
    with pytest.raises(DevstackError, match="too high"):
        internal_ports(50000)


def test_port_in_use_sees_a_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_in_use(port)
    assert not port_in_use(port)
