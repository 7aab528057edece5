"""The master-key file watcher watches the files it is given (from the settings), not the environment."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from pm_auth.domain.vault import KeyRing, MasterKey
from pm_auth.usecases.keys import MasterKeys, watch_master_keys


def _keys_recording_reloads(monkeypatch: pytest.MonkeyPatch) -> tuple[MasterKeys, asyncio.Event]:
    """Master keys whose reload only records that it was asked for."""
    keys = MasterKeys(KeyRing(MasterKey.from_base64(base64.b64encode(b"a" * 32).decode()), None))
    reloads = asyncio.Event()

    async def reload() -> bool:
        reloads.set()
        return True

    monkeypatch.setattr(keys, "reload", reload)
    return keys, reloads


async def test_the_watcher_reloads_when_a_given_file_changes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("MASTER_KEY_FILE", raising=False)
    monkeypatch.delenv("MASTER_KEY_PREVIOUS_FILE", raising=False)
    key_file = tmp_path / "master_key"
    key_file.write_text(base64.b64encode(b"a" * 32).decode())
    keys, reloads = _keys_recording_reloads(monkeypatch)
    watcher = watch_master_keys(keys, 0.02, [str(key_file)])
    await anext(watcher)
    try:
        await asyncio.sleep(0.1)
        assert not reloads.is_set()  # nothing changed yet
        key_file.write_text(base64.b64encode(b"b" * 32).decode() + "\n")
        await asyncio.wait_for(reloads.wait(), 5)
    finally:
        await watcher.aclose()


async def test_no_files_no_polling(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    key_file = tmp_path / "master_key"
    key_file.write_text("x")
    monkeypatch.setenv("MASTER_KEY_FILE", str(key_file))  # the environment alone is not looked at
    keys, reloads = _keys_recording_reloads(monkeypatch)
    watcher = watch_master_keys(keys, 0.02, [])
    await anext(watcher)
    try:
        key_file.write_text("y")
        await asyncio.sleep(0.2)
        assert not reloads.is_set()
    finally:
        await watcher.aclose()
