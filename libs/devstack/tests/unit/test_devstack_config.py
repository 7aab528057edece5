from __future__ import annotations

from pathlib import Path

import pytest

from pm_devstack.config import StackConfig, find_repo_root
from pm_devstack.errors import DevstackError


def test_defaults_follow_the_architecture_doc(repo_root: Path) -> None:
    config = StackConfig.from_env({}, repo_root=repo_root)
    assert (config.pg_port, config.redis_port, config.s3_port) == (15432, 16379, 18333)
    assert (config.kafka_port, config.kafka_controller_port) == (19092, 19093)
    assert config.state_dir == repo_root / ".state"
    assert config.log_path("kafka") == repo_root / ".state" / "logs" / "kafka.log"
    assert config.pid_path("auth") == repo_root / ".state" / "run" / "auth.pid"


def test_environment_overrides(tmp_path: Path, repo_root: Path) -> None:
    env = {
        "PM_STATE_DIR": str(tmp_path / "s"),
        "PM_PG_PORT": "25432",
        "PM_REDIS_PORT": "26379",
        "PM_KAFKA_PORT": "29092",
        "PM_KAFKA_CONTROLLER_PORT": "29093",
        "PM_S3_PORT": "28333",
    }
    config = StackConfig.from_env(env, repo_root=repo_root)
    assert config.state_dir == tmp_path / "s"
    assert (config.pg_port, config.redis_port, config.kafka_port) == (25432, 26379, 29092)
    assert (config.kafka_controller_port, config.s3_port) == (29093, 28333)


@pytest.mark.parametrize("value", ["abc", "0", "70000"])
def test_bad_port_is_a_clear_error(value: str, repo_root: Path) -> None:
    with pytest.raises(DevstackError, match="PM_PG_PORT"):
        StackConfig.from_env({"PM_PG_PORT": value}, repo_root=repo_root)


def test_repo_root_is_found_and_overridable(tmp_path: Path) -> None:
    assert (find_repo_root({}) / "proto" / "services.yaml").is_file()
    assert find_repo_root({"PM_REPO_ROOT": str(tmp_path)}) == tmp_path.resolve()
