"""How the chassis serves: the settings that bound a request's time reach the server and read_body."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from pm_platform import service
from pm_platform.http import BODY_LIMITS, BodyLimits
from pm_platform.identity import identity_key_id, raw_public_key
from pm_platform.service import RUNTIME, create_app, default_health_checks, main
from pm_platform.settings import InfraSettings, load_settings
from pm_platform.testing import unreachable_infra_env
from pm_playlist.app import definition

ENV = unreachable_infra_env()


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in (
        "HOST",
        "PORT",
        "BODY_TIMEOUT_S",
        "MIN_BODY_RATE",
        "KEEPALIVE_TIMEOUT_S",
        "ENVIRONMENT",
        "IDENTITY_PUBLIC_KEYS_FILE",
        "SECRET_FILE_WATCH_INTERVAL_S",
        "MASTER_KEY_WATCH_INTERVAL_S",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_create_app_gives_read_body_the_configured_limits(environ: pytest.MonkeyPatch) -> None:
    environ.setenv("BODY_TIMEOUT_S", "7.5")
    environ.setenv("MIN_BODY_RATE", "9")
    app = create_app(definition(), load_settings(InfraSettings))
    assert app[BODY_LIMITS] == BodyLimits(timeout_s=7.5, min_rate=9)


def test_serve_binds_loopback_by_default_with_the_configured_keepalive(environ: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}

    def run_app(app: web.Application, **kwargs: Any) -> None:
        served.update(kwargs, app=app)

    environ.setattr(service.web, "run_app", run_app)
    environ.setattr(service, "configure_logging", lambda *args, **kwargs: None)
    environ.setenv("KEEPALIVE_TIMEOUT_S", "45")
    main(definition(), ["serve"])
    assert served["host"] == "127.0.0.1"
    assert served["keepalive_timeout"] == 45.0
    assert served["app"][BODY_LIMITS] == BodyLimits()


async def test_the_chassis_rereads_the_identity_public_keys_file_on_sighup(
    environ: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first, second = (raw_public_key(secrets.token_bytes(32)) for _ in range(2))
    keys_file = tmp_path / "identity_public_keys"
    keys_file.write_text(base64.b64encode(first).decode() + "\n")
    environ.delenv("IDENTITY_PUBLIC_KEYS")
    environ.setenv("IDENTITY_PUBLIC_KEYS_FILE", str(keys_file))
    environ.setenv("SECRET_FILE_WATCH_INTERVAL_S", "0")  # SIGHUP only
    app = create_app(definition(), load_settings(InfraSettings))
    rt = app[RUNTIME]
    check = next(c for c in default_health_checks(rt) if c.name == "identity_keys")
    assert not check.informational
    assert await check.check() == {"verify_key_ids": [identity_key_id(first)], "reload_error": None}
    # The chassis's first resource: the SIGHUP handler and the watcher, with the identity keys registered.
    secret_files = app.cleanup_ctx[0](app)
    await anext(secret_files)
    try:
        assert rt.reloads.names == ["identity public keys"]
        if not rt.reloads.listening_to_sighup:
            pytest.skip("SIGHUP can only be handled in the main thread")
        keys_file.write_text(f"{base64.b64encode(first).decode()},{base64.b64encode(second).decode()}\n")
        os.kill(os.getpid(), signal.SIGHUP)
        both = sorted(identity_key_id(k) for k in (first, second))
        await _until(lambda: sorted(rt.identities.key_ids) == both)
        keys_file.write_text("garbage\n")
        os.kill(os.getpid(), signal.SIGHUP)
        await _until(lambda: rt.identity_keys.reload_error is not None)
        report = await check.check()
        assert report["verify_key_ids"] == both  # the keys in use stay
        assert "IDENTITY_PUBLIC_KEYS_FILE" in report["reload_error"]
    finally:
        await anext(secret_files, None)
    assert rt.reloads.names == []


async def _until(condition: Callable[[], bool], deadline_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while not condition():
        assert loop.time() < end, "not within the deadline"
        await asyncio.sleep(0.01)


async def test_plain_identity_public_keys_register_no_reload(environ: pytest.MonkeyPatch) -> None:
    app = create_app(definition(), load_settings(InfraSettings))
    secret_files = app.cleanup_ctx[0](app)
    await anext(secret_files)
    try:
        assert app[RUNTIME].reloads.names == []
    finally:
        await anext(secret_files, None)
