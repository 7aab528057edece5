from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pm_devstack.cli import main
from pm_devstack.errors import DevstackError
from pm_devstack.procs import live_pid, pid_alive, spawn, terminate, write_pid


@pytest.fixture
def state_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PM_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_env_command_prints_key_value_lines(state_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["env", "auth"]) == 0
    lines = capsys.readouterr().out.splitlines()
    env = dict(line.split("=", 1) for line in lines)
    assert env["SERVICE_NAME"] == "auth"
    assert env["DATABASE_URL"].startswith("postgresql://pm_auth:")
    assert (state_env / "env").is_file()


def test_user_errors_are_one_line_without_traceback(
    state_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["env", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: nope: unknown service")
    assert "Traceback" not in err


def test_bad_port_variable_is_one_line(
    state_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PM_KAFKA_PORT", "x")
    assert main(["env", "auth"]) == 1
    assert capsys.readouterr().err == "error: config: PM_KAFKA_PORT='x' is not a port number\n"


def test_error_line_names_the_log(tmp_path: Path) -> None:
    error = DevstackError("kafka", "not healthy after 90 s", tmp_path / "kafka.log")
    assert error.one_line() == f"error: kafka: not healthy after 90 s (see {tmp_path / 'kafka.log'})"


def test_spawn_track_and_terminate(tmp_path: Path) -> None:
    pid_path = tmp_path / "run" / "sleeper.pid"
    proc = spawn(
        [sys.executable, "-c", "import time; time.sleep(60)"], log_path=tmp_path / "s.log", pid_path=pid_path
    )
    assert live_pid(pid_path, "time.sleep") == proc.pid
    assert live_pid(pid_path, "something-else") is None  # pid reuse guard
    assert terminate(proc.pid, timeout=5)
    assert not pid_alive(proc.pid)
    assert live_pid(pid_path, "time.sleep") is None


def test_terminate_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    began = time.monotonic()
    assert terminate(proc.pid, timeout=0.5) is False
    assert time.monotonic() - began < 5
    assert not pid_alive(proc.pid)


def test_stale_pid_file(tmp_path: Path) -> None:
    pid_path = tmp_path / "x.pid"
    write_pid(pid_path, 2**22 + 1)  # above the default pid_max: never a live process
    assert live_pid(pid_path, "") is None
    pid_path.write_text("garbage")
    assert live_pid(pid_path, "") is None
