"""The registry of reloadable secret files: SIGHUP re-reads everything registered, in order; the watcher
re-reads what changed on disk; a broken reload stops nothing."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pm_platform.reloading import Reloads, fingerprint

DEADLINE_S = 5.0


async def _until(condition, what: str) -> None:
    """Poll ``condition`` until it holds (the reloads run in tasks); fail after a generous deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE_S
    while not condition():
        if loop.time() > end:
            pytest.fail(f"not within {DEADLINE_S:.0f}s: {what}")
        await asyncio.sleep(0.01)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def reload(self, name: str, *, fail: bool = False):
        async def reload() -> bool:
            self.calls.append(name)
            if fail:
                raise RuntimeError(f"{name} is broken")
            return True

        return reload


async def _running(registry: Reloads) -> AsyncIterator[None]:
    watcher = registry.run()
    await anext(watcher)
    try:
        yield
    finally:
        await watcher.aclose()


async def test_sighup_reloads_every_registration_in_order(tmp_path: Path):
    recorder, registry = Recorder(), Reloads(0)
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_text("1")
    second.write_text("2")
    with (
        registry.registered("first", [str(first)], recorder.reload("first")),
        registry.registered("broken", [], recorder.reload("broken", fail=True)),
        registry.registered("second", [str(second)], recorder.reload("second")),
    ):
        async for _ in _running(registry):
            if not registry.listening_to_sighup:
                pytest.skip("SIGHUP can only be handled in the main thread")
            os.kill(os.getpid(), signal.SIGHUP)
            await _until(lambda: len(recorder.calls) == 3, "three reloads after SIGHUP")
            # A reload that raises is logged and the next one still runs.
            assert recorder.calls == ["first", "broken", "second"]
            os.kill(os.getpid(), signal.SIGHUP)
            await _until(lambda: len(recorder.calls) == 6, "three more after a second SIGHUP")
    assert not registry.listening_to_sighup
    assert registry.names == []


async def test_the_watcher_reloads_what_changed_and_only_that(tmp_path: Path):
    recorder, registry = Recorder(), Reloads(0.02)
    watched, other = tmp_path / "watched", tmp_path / "other"
    watched.write_text("a")
    other.write_text("b")
    with (
        registry.registered("watched", [str(watched)], recorder.reload("watched")),
        registry.registered("other", [str(other)], recorder.reload("other")),
        registry.registered("sighup only", [], recorder.reload("sighup only")),
    ):
        async for _ in _running(registry):
            assert await registry.reload_changed() == []
            watched.write_text("a changed, longer")
            await _until(lambda: recorder.calls == ["watched"], "the changed file's reload")
            # Removed: a change too (the reload reports the missing file; the watcher goes on).
            other.unlink()
            await _until(lambda: recorder.calls == ["watched", "other"], "the removed file's reload")
            assert await registry.reload_changed() == []  # seen: no reload twice for one change


async def test_without_an_interval_nothing_is_polled(tmp_path: Path):
    recorder, registry = Recorder(), Reloads(0)
    watched = tmp_path / "watched"
    watched.write_text("a")
    with registry.registered("watched", [str(watched)], recorder.reload("watched")):
        async for _ in _running(registry):
            watched.write_text("changed")
            await asyncio.sleep(0.1)
            assert recorder.calls == []
            # An explicit poll (what the watcher does each interval) still sees it.
            assert await registry.reload_changed() == ["watched"]
            assert recorder.calls == ["watched"]


def test_a_missing_file_has_a_fingerprint_of_its_own(tmp_path: Path):
    path = tmp_path / "secret"
    missing = fingerprint([str(path)])
    path.write_text("x")
    assert fingerprint([str(path)]) != missing
    assert missing == ((str(path), -1.0, -1),)
