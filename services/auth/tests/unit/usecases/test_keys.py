"""auth's master keys are re-read through the chassis's registry of secret files (pm_platform.reloading):
the files it is given (from the settings), not the environment, and SIGHUP. Which signing key signs
(publish before use)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pm_auth.domain.vault import KeyRing, MasterKey, WrappedKey
from pm_auth.storage.signing_keys import SigningKeyRow
from pm_auth.usecases.keys import ACTIVATION_DELAY, SIGNING_CACHE_S, MasterKeys, choose_active, next_switch
from pm_platform.reloading import Reloads


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
    registry = Reloads(0.02)
    watcher = registry.run()
    with registry.registered("master keys", [str(key_file)], keys.reload):
        await anext(watcher)
        try:
            assert await registry.reload_changed() == []  # nothing changed yet
            assert not reloads.is_set()
            key_file.write_text(base64.b64encode(b"b" * 32).decode() + "\n")
            await asyncio.wait_for(reloads.wait(), 5)
        finally:
            await watcher.aclose()


async def test_no_files_no_polling_but_sighup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    key_file = tmp_path / "master_key"
    key_file.write_text("x")
    monkeypatch.setenv("MASTER_KEY_FILE", str(key_file))  # the environment alone is not looked at
    keys, reloads = _keys_recording_reloads(monkeypatch)
    registry = Reloads(0.02)
    watcher = registry.run()
    with registry.registered("master keys", [], keys.reload):
        await anext(watcher)
        try:
            key_file.write_text("y")
            assert await registry.reload_changed() == []
            assert not reloads.is_set()
            if not registry.listening_to_sighup:
                pytest.skip("SIGHUP can only be handled in the main thread")
            os.kill(os.getpid(), signal.SIGHUP)
            await asyncio.wait_for(reloads.wait(), 5)
        finally:
            await watcher.aclose()


T0 = datetime(2026, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def _key(kid: str, created_at: datetime, retired_at: datetime | None = None) -> SigningKeyRow:
    return SigningKeyRow(kid, b"p" * 32, WrappedKey("k", b"w"), b"s", created_at, retired_at)


def _rotate(rows: list[SigningKeyRow], kid: str, at: datetime) -> list[SigningKeyRow]:
    """What rotate_signing_key stores: the new key, the current ones retiring ACTIVATION_DELAY later."""
    retired = [_key(r.kid, r.created_at, r.retired_at or at + ACTIVATION_DELAY) for r in rows]
    return [_key(kid, at), *retired]


def _active(rows: list[SigningKeyRow], now: datetime) -> str | None:
    chosen = choose_active(rows, now)
    return chosen.kid if chosen is not None else None


def test_the_delay_outlasts_every_replicas_cache():
    assert ACTIVATION_DELAY.total_seconds() >= 2 * SIGNING_CACHE_S


def test_the_first_key_signs_at_once():
    assert _active([_key("first", T0)], T0) == "first"
    assert _active([], T0) is None


def test_a_rotated_key_signs_only_after_the_activation_delay():
    rows = _rotate([_key("old", T0 - timedelta(days=3))], "new", T0)
    assert _active(rows, T0) == "old"  # published at once, but the old key still signs
    assert _active(rows, T0 + ACTIVATION_DELAY - US) == "old"
    assert _active(rows, T0 + ACTIVATION_DELAY) == "new"  # no gap, no overlap
    assert _active(rows, T0 + timedelta(days=1)) == "new"


def test_two_rotations_in_a_row():
    rows = _rotate(_rotate([_key("old", T0 - timedelta(days=3))], "first", T0), "second", T0 + 5 * US)
    assert _active(rows, T0 + timedelta(seconds=1)) == "old"
    # The first new key, published since T0, signs once the old one retires ...
    assert _active(rows, T0 + ACTIVATION_DELAY) == "first"
    # ... until the second one's activation, ACTIVATION_DELAY after its creation.
    assert _active(rows, T0 + 5 * US + ACTIVATION_DELAY - US) == "first"
    assert _active(rows, T0 + 5 * US + ACTIVATION_DELAY) == "second"


def test_a_retired_key_never_signs_again():
    rows = [_key("old", T0 - timedelta(days=3), T0 - timedelta(minutes=1)), _key("young", T0)]
    assert _active(rows, T0) == "young"  # the only one able to sign, even if young


def test_a_cache_reloads_when_the_choice_changes():
    rows = _rotate([_key("old", T0 - timedelta(days=3))], "new", T0)
    assert next_switch(rows, T0) == T0 + ACTIVATION_DELAY  # the old key retires, the new one signs
    assert next_switch(rows, T0 + ACTIVATION_DELAY) is None  # nothing pending
    assert next_switch([_key("first", T0)], T0) == T0 + ACTIVATION_DELAY  # harmless: the same choice
