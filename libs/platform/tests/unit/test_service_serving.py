"""How the chassis serves: the settings that bound a request's time reach the server and read_body."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from pm_platform import service
from pm_platform.http import BODY_LIMITS, BodyLimits
from pm_platform.service import create_app, main
from pm_platform.settings import InfraSettings, load_settings
from pm_platform.testing import unreachable_infra_env
from pm_playlist.app import definition

ENV = unreachable_infra_env()


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in ("HOST", "PORT", "BODY_TIMEOUT_S", "MIN_BODY_RATE", "KEEPALIVE_TIMEOUT_S", "ENVIRONMENT"):
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
