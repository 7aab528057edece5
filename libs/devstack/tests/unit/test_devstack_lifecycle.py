from __future__ import annotations

from pathlib import Path

import pytest

from pm_devstack import apt, lifecycle
from pm_devstack.component import Component, Status
from pm_devstack.errors import DevstackError
from pm_devstack.stack import Stack


class FakeComponent(Component):
    """Healthy once started, unless told to die or hang."""

    startup_grace = 0.2

    def __init__(
        self,
        name: str,
        tmp: Path,
        *,
        running: bool = False,
        dies: bool = False,
        hangs: bool = False,
        stale: bool = False,
    ):
        self.name = name
        self.stale = stale
        self.port = 1
        self.log_path = tmp / f"{name}.log"
        self.running = running
        self.dies = dies
        self.hangs = hangs
        self.starts = 0
        self.stops = 0

    def pid(self) -> int | None:
        return 4242 if self.running else None

    def is_stale(self) -> bool:
        return self.stale

    def start(self) -> None:
        self.starts += 1
        self.running = not self.dies
        self.stale = False

    def check_health(self) -> bool:
        return self.running and not self.hangs

    def stop(self, timeout: float = 30.0) -> None:
        self.stops += 1
        self.running = False


def test_start_and_wait_starts_only_what_is_stopped(tmp_path: Path, tmp_stack: Stack) -> None:
    a, b = FakeComponent("a", tmp_path), FakeComponent("b", tmp_path, running=True)
    lines: list[str] = []
    lifecycle.start_and_wait([a, b], 5, lines.append, tmp_stack)
    assert (a.starts, b.starts) == (1, 0)
    assert lines[0].split()[:3] == ["a", "started,", "healthy"]
    assert "already running" in lines[1]


def test_a_running_component_started_from_other_code_is_restarted(tmp_path: Path, tmp_stack: Stack) -> None:
    stale = FakeComponent("stale", tmp_path, running=True, stale=True)
    current = FakeComponent("current", tmp_path, running=True)
    lines: list[str] = []
    lifecycle.start_and_wait([stale, current], 5, lines.append, tmp_stack)
    assert (stale.stops, stale.starts) == (1, 1) and (current.stops, current.starts) == (0, 0)
    assert "restarted (code or configuration changed)" in lines[0]
    assert "already running" in lines[1]


def test_a_dying_component_fails_fast_with_its_log(tmp_path: Path, tmp_stack: Stack) -> None:
    dead = FakeComponent("dead", tmp_path, dies=True)
    with pytest.raises(DevstackError) as caught:
        lifecycle.start_and_wait([dead], 30, lambda _: None, tmp_stack)
    assert caught.value.one_line() == f"error: dead: exited during startup (see {tmp_path / 'dead.log'})"


def test_several_failures_still_make_one_line(tmp_path: Path, tmp_stack: Stack) -> None:
    one, two = FakeComponent("one", tmp_path, hangs=True), FakeComponent("two", tmp_path, hangs=True)
    ok = FakeComponent("ok", tmp_path)
    with pytest.raises(DevstackError) as caught:
        lifecycle.start_and_wait([one, ok, two], 0.3, lambda _: None, tmp_stack)
    line = caught.value.one_line()
    assert "\n" not in line
    assert line.startswith("error: one, two: one: not healthy after 0 s; two: not healthy after 0 s")
    assert line.endswith(f"(see {tmp_stack.config.logs_dir})")
    assert ok.running


def test_stop_all_stops_only_running(tmp_path: Path) -> None:
    a, b = FakeComponent("a", tmp_path, running=True), FakeComponent("b", tmp_path)
    lines: list[str] = []
    lifecycle.stop_all([a, b], lines.append)
    assert (a.stops, b.stops) == (1, 0)
    assert len(lines) == 1


def test_status_line() -> None:
    assert Status("kafka", True, 99, 19092, True).line().split() == [
        "kafka",
        "running",
        "pid",
        "99",
        "port",
        "19092",
        "healthy",
    ]
    assert Status("auth", False, None, 3102, False).line().split() == [
        "auth",
        "stopped",
        "pid",
        "-",
        "port",
        "3102",
        "-",
    ]


def test_installing_packages_needs_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(apt, "is_root", lambda: False)
    with pytest.raises(DevstackError) as caught:
        apt.install_packages(["postgresql"], component="postgres", log_path=tmp_path / "apt.log")
    assert "needs root" in caught.value.one_line()
    assert "sudo apt-get install -y postgresql" in caught.value.one_line()
    apt.install_packages([], component="postgres", log_path=tmp_path / "apt.log")  # nothing missing: no-op


class FakeService(FakeComponent):
    """A service's component: its environment, and the environment each start ran with."""

    def __init__(self, name: str, tmp: Path) -> None:
        super().__init__(name, tmp, running=True)
        self.env = {"PORT": "1", "LOG_LEVEL": "INFO"}
        self.started_with: list[dict[str, str]] = []

    def start(self) -> None:
        self.started_with.append(dict(self.env))
        super().start()


def test_restart_with_env_runs_the_service_with_it_added_for_that_run(
    tmp_path: Path, tmp_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each call builds the component afresh from the stack, as Stack.service does.
    monkeypatch.setattr(tmp_stack, "component", lambda name: FakeService(name, tmp_path))
    raised = {"PROVIDER_RATE_LIMITS": '{"deezer": {"provider": {"calls": 500, "window_s": 5}}}'}
    built: list[FakeService] = []

    def service(name: str) -> FakeService:
        built.append(FakeService(name, tmp_path))
        return built[-1]

    monkeypatch.setattr(tmp_stack, "service", service)
    lifecycle.restart(tmp_stack, "provider-sync", say=lambda _: None, env=raised)
    assert built[-1].stops == 1
    assert built[-1].started_with == [{"PORT": "1", "LOG_LEVEL": "INFO", **raised}]
    component = FakeService("provider-sync", tmp_path)
    monkeypatch.setattr(tmp_stack, "component", lambda name: component)
    lifecycle.restart(tmp_stack, "provider-sync", say=lambda _: None)  # as the stack describes it again
    assert component.started_with == [{"PORT": "1", "LOG_LEVEL": "INFO"}]
