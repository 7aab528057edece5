import pytest

from pm_provider_emulator.__main__ import main
from pm_provider_emulator.app import ProductionRefused, init_app
from pm_provider_emulator.settings import EmulatorSettings


def test_defaults(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PORT", raising=False)
    s = EmulatorSettings()
    assert s.port == 3199
    assert s.host == "127.0.0.1"
    assert not s.is_production


def test_reads_port_and_prefixed_variables(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PORT", "4000")
    monkeypatch.setenv("EMULATOR_SPOTIFY_MODE", "legacy")
    s = EmulatorSettings()
    assert s.port == 4000
    assert s.spotify_mode == "legacy"


def test_refuses_production(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(ProductionRefused):
        init_app(EmulatorSettings(environment="production"))
    monkeypatch.setenv("ENVIRONMENT", "production")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "production" in err[0]


def test_migrate_is_a_noop(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    assert main(["migrate"]) == 0
