from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pm_platform.settings import BaseServiceSettings, SettingsError, load_settings
from pm_providers.base import ProviderAdapter, WriteProgress
from pm_providers.errors import InvalidRequest, PartialWrite, ProviderUnavailable
from pm_providers.http import build_session
from pm_providers.models import (
    ProviderLimits,
    ProviderName,
    ProviderPlaylist,
    ProviderTrack,
    ProviderUser,
    WriteResult,
)
from pm_providers.settings import (
    CONNECT_TIMEOUT_S,
    DEFAULT_RATE_LIMITS,
    REAL_URLS,
    BucketSpec,
    ProviderHostSettings,
    ProviderLimitsSpec,
    ProviderSettings,
    WindowSpec,
)

HOST_VARIABLES = [name.upper() for name in REAL_URLS]


def test_defaults_are_the_real_hosts() -> None:
    s = ProviderSettings()
    assert s.api_base(ProviderName.SPOTIFY) == "https://api.spotify.com/v1"
    assert s.api_base(ProviderName.DEEZER) == "https://api.deezer.com"
    assert s.api_base(ProviderName.TIDAL) == "https://openapi.tidal.com/v2"
    assert s.api_base(ProviderName.YOUTUBE) == "https://www.googleapis.com/youtube/v3"


def test_url_variables_name_hosts_as_auth_and_the_native_stack_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """One meaning per variable across the project: SPOTIFY_API_URL etc. hold the host only."""
    from pm_devstack.stack import Stack

    env = Stack.from_env().service_env("auth")
    for name in [
        "SPOTIFY_API_URL",
        "TIDAL_API_URL",
        "TIDAL_AUTH_URL",
        "YOUTUBE_API_URL",
        "GOOGLE_OAUTH2_URL",
    ]:
        monkeypatch.setenv(name, env[name])
    s = ProviderSettings()
    assert s.api_base(ProviderName.SPOTIFY) == env["SPOTIFY_API_URL"] + "/v1"
    assert s.api_base(ProviderName.YOUTUBE) == env["YOUTUBE_API_URL"] + "/youtube/v3"
    assert s.google_oauth2_url == env["GOOGLE_OAUTH2_URL"]


def test_for_emulator_rewrites_every_host() -> None:
    s = ProviderSettings().for_emulator("http://127.0.0.1:3199/")
    assert s.api_base(ProviderName.SPOTIFY) == "http://127.0.0.1:3199/api.spotify.com/v1"
    assert s.spotify_accounts_url == "http://127.0.0.1:3199/accounts.spotify.com"
    assert s.tidal_auth_url == "http://127.0.0.1:3199/auth.tidal.com"
    assert s.google_oauth2_url == "http://127.0.0.1:3199/oauth2.googleapis.com"
    for name, real in REAL_URLS.items():
        assert getattr(s, name) == "http://127.0.0.1:3199/" + real.removeprefix("https://")


def test_every_host_variable_is_declared_once_for_auth_and_the_adapters() -> None:
    hosts = {f.alias for name, f in ProviderHostSettings.model_fields.items() if name in REAL_URLS}
    assert hosts == set(HOST_VARIABLES)
    assert set(ProviderHostSettings.model_fields) <= set(ProviderSettings.model_fields)


def test_the_emulator_serves_every_host_the_settings_name() -> None:
    """``for_emulator`` and the native stack send each host to ``<emulator>/<host>``: it must be there."""
    from pm_provider_emulator.http.common import HOST_PROVIDER

    for name, url in REAL_URLS.items():
        assert url.removeprefix("https://") in HOST_PROVIDER, name


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEZER_API_URL", "http://localhost:1/api.deezer.com/")
    monkeypatch.setenv("PROVIDER_RATE_LIMITS", '{"deezer": {"provider": {"capacity": 5, "per_second": 1}}}')
    monkeypatch.setenv("YOUTUBE_QUOTA", '{"mode": "legacy", "units_per_day": 20000}')
    s = ProviderSettings()
    assert s.deezer_api_url == "http://localhost:1/api.deezer.com"
    assert s.limits_for(ProviderName.DEEZER).provider == BucketSpec(capacity=5, per_second=1)
    assert s.limits_for(ProviderName.DEEZER).user is None
    assert s.limits_for(ProviderName.SPOTIFY) == DEFAULT_RATE_LIMITS[ProviderName.SPOTIFY]
    assert s.youtube_quota.mode == "legacy" and s.youtube_quota.units_per_day == 20000


def test_default_limits_stay_within_documented_windows() -> None:
    deezer = DEFAULT_RATE_LIMITS[ProviderName.DEEZER].provider
    assert isinstance(deezer, WindowSpec)  # kept as the window it is
    assert deezer.calls <= 50 and deezer.window_s >= 5  # 50 requests per 5 s
    spotify = DEFAULT_RATE_LIMITS[ProviderName.SPOTIFY].provider
    assert isinstance(spotify, BucketSpec)
    assert spotify.capacity + spotify.per_second * 30 <= 180  # the emulator's rolling 30 s window


def test_a_window_limit_is_read_from_the_environment_and_takes_no_user_bucket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROVIDER_RATE_LIMITS", '{"deezer": {"provider": {"calls": 45, "window_s": 5}}}')
    assert ProviderSettings().limits_for(ProviderName.DEEZER).provider == WindowSpec(calls=45, window_s=5)
    with pytest.raises(ValidationError, match="sliding window takes no per-user bucket"):
        ProviderLimitsSpec(
            provider=WindowSpec(calls=45, window_s=5), user=BucketSpec(capacity=1, per_second=1)
        )


@pytest.mark.parametrize("variable", HOST_VARIABLES)
def test_a_host_that_is_not_http_is_a_one_line_error_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "api.example.com")
    with pytest.raises(SettingsError) as err:
        load_settings(ProviderSettings)
    assert str(err.value) == f"{variable}: must be an http:// or https:// URL"


@pytest.mark.parametrize("settings_cls", [ProviderHostSettings, ProviderSettings])
def test_a_host_may_come_from_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings_cls: type[ProviderHostSettings]
) -> None:
    """``<VAR>_FILE``, as for every setting of the project (Docker and Kubernetes secrets)."""
    monkeypatch.delenv("SPOTIFY_API_URL", raising=False)
    path = tmp_path / "spotify-api-url"
    path.write_text("https://spotify.proxy.example.org/\n")
    monkeypatch.setenv("SPOTIFY_API_URL_FILE", str(path))
    assert load_settings(settings_cls).spotify_api_url == "https://spotify.proxy.example.org"
    path.write_text("spotify.proxy.example.org\n")
    with pytest.raises(SettingsError, match=r"^SPOTIFY_API_URL: must be an http:// or https:// URL$"):
        load_settings(settings_cls)
    monkeypatch.setenv("SPOTIFY_API_URL", "https://api.spotify.com")
    with pytest.raises(SettingsError, match="set either SPOTIFY_API_URL or SPOTIFY_API_URL_FILE"):
        load_settings(settings_cls)


async def test_provider_timeout_bounds_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """PROVIDER_TIMEOUT_S is the one provider timeout: a whole exchange, connecting included."""
    defaults = build_session(ProviderSettings())
    monkeypatch.setenv("PROVIDER_TIMEOUT_S", "12.5")
    configured = build_session(load_settings(ProviderSettings))
    try:
        assert defaults.timeout.total == 10 and defaults.timeout.connect == CONNECT_TIMEOUT_S
        assert configured.timeout.total == 12.5 and configured.timeout.connect == CONNECT_TIMEOUT_S
        assert configured.timeout.sock_read is None and configured.timeout.sock_connect is None
    finally:
        await defaults.close()
        await configured.close()
    monkeypatch.setenv("PROVIDER_TIMEOUT_S", "2")
    assert load_settings(ProviderHostSettings).client_timeout().connect == 2  # never beyond the whole
    monkeypatch.setenv("PROVIDER_TIMEOUT_S", "0")
    with pytest.raises(SettingsError, match=r"^PROVIDER_TIMEOUT_S: "):
        load_settings(ProviderSettings)


class Batches(ProviderAdapter):
    """Only the shared batch machinery; the provider operations are not used here."""

    name = ProviderName.SPOTIFY
    limits = ProviderLimits(
        playlists_page=1,
        tracks_page=1,
        liked_page=1,
        max_add_batch=2,
        max_remove_batch=2,
        max_move_batch=1,
        max_playlist_size=None,
        search_page=1,
    )

    def __init__(self, fail_at: int | None = None, error: Exception | None = None) -> None:
        self.sent: list[list[str]] = []
        self.fail_at = fail_at
        self.error = error

    async def add_tracks(
        self, playlist_id: str, track_ids: Sequence[str], *, progress: WriteProgress | None = None
    ) -> WriteResult:
        async def send(batch: list[str], offset: int) -> None:
            if len(self.sent) == self.fail_at:
                assert self.error is not None
                raise self.error
            self.sent.append(batch)

        await self._write_batches(track_ids, 2, send, progress, "add")
        return WriteResult(written=len(track_ids))

    async def current_user(self) -> ProviderUser:
        raise NotImplementedError

    def playlists(self) -> AsyncIterator[ProviderPlaylist]:
        raise NotImplementedError

    async def playlist(self, playlist_id: str) -> ProviderPlaylist:
        raise NotImplementedError

    def playlist_tracks(self, playlist_id: str) -> AsyncIterator[ProviderTrack]:
        raise NotImplementedError

    def liked_tracks(self) -> AsyncIterator[ProviderTrack]:
        raise NotImplementedError

    async def search_isrc(self, isrc: str) -> list[ProviderTrack]:
        raise NotImplementedError

    async def search_tracks(self, **kw: Any) -> list[ProviderTrack]:
        raise NotImplementedError

    async def create_playlist(
        self, name: str, *, description: str = "", public: bool = False
    ) -> ProviderPlaylist:
        raise NotImplementedError

    async def remove_tracks(
        self, playlist_id: str, entries: Sequence[ProviderTrack], **kw: Any
    ) -> WriteResult:
        raise NotImplementedError

    async def reorder(
        self, playlist_id: str, current: Sequence[ProviderTrack], target: Sequence[ProviderTrack], **kw: Any
    ) -> WriteResult:
        raise NotImplementedError

    async def insert_tracks(self, playlist_id: str, track_ids: Sequence[str], **kw: Any) -> WriteResult:
        raise NotImplementedError

    async def update_details(self, playlist_id: str, **kw: Any) -> None:
        raise NotImplementedError

    async def delete_playlist(self, playlist_id: str) -> None:
        raise NotImplementedError


IDS = ["a", "b", "c", "d", "e"]


async def test_batches_in_order() -> None:
    b = Batches()
    progress = WriteProgress()
    await b.add_tracks("p", IDS, progress=progress)
    assert b.sent == [["a", "b"], ["c", "d"], ["e"]]
    assert progress.written == IDS and progress.in_flight == [] and progress.remaining == []


async def test_first_batch_certain_failure_is_the_error_itself() -> None:
    with pytest.raises(InvalidRequest):
        await Batches(fail_at=0, error=InvalidRequest("bad id")).add_tracks("p", IDS)


async def test_failure_after_some_batches_is_partial() -> None:
    with pytest.raises(PartialWrite) as err:
        await Batches(fail_at=1, error=InvalidRequest("bad id")).add_tracks("p", IDS)
    assert err.value.written == ("a", "b")
    assert err.value.remaining == ("c", "d", "e")
    assert err.value.uncertain_batch == ()
    assert isinstance(err.value.cause, InvalidRequest) and not err.value.retryable


async def test_uncertain_batch_is_reported() -> None:
    with pytest.raises(PartialWrite) as err:
        await Batches(fail_at=0, error=ProviderUnavailable("lost", uncertain=True)).add_tracks("p", IDS)
    assert err.value.written == ()
    assert err.value.uncertain_batch == ("a", "b")
    assert err.value.remaining == ("c", "d", "e")
    assert err.value.retryable


async def test_cooperative_cancel_stops_between_batches() -> None:
    progress = WriteProgress()
    progress.request_cancel()
    with pytest.raises(PartialWrite) as err:
        await Batches().add_tracks("p", IDS, progress=progress)
    assert err.value.written == () and err.value.remaining == tuple(IDS) and err.value.cause is None


async def test_task_cancel_propagates_and_progress_tells() -> None:
    class Slow(Batches):
        async def add_tracks(
            self, playlist_id: str, track_ids: Sequence[str], *, progress: WriteProgress | None = None
        ) -> WriteResult:
            async def send(batch: list[str], offset: int) -> None:
                await asyncio.sleep(0.05 if offset == 0 else 10)

            await self._write_batches(track_ids, 2, send, progress, "add")
            return WriteResult()

    progress = WriteProgress()
    task = asyncio.create_task(Slow().add_tracks("p", IDS, progress=progress))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert progress.written == ["a", "b"] and progress.in_flight == ["c", "d"] and progress.remaining == ["e"]


def test_provider_hosts_must_be_https_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service's settings that include the hosts (auth's) refuse a plain-http host in production: client
    secrets, codes and tokens go there."""

    class ServiceWithProviders(BaseServiceSettings, ProviderHostSettings):
        pass

    monkeypatch.setenv("ENVIRONMENT", "production")
    assert load_settings(ServiceWithProviders).spotify_accounts_url == "https://accounts.spotify.com"
    monkeypatch.setenv("SPOTIFY_ACCOUNTS_URL", "http://127.0.0.1:3199/accounts.spotify.com")
    with pytest.raises(SettingsError, match=r"SPOTIFY_ACCOUNTS_URL: must be an https:// URL in production"):
        load_settings(ServiceWithProviders)
    monkeypatch.setenv("ENVIRONMENT", "development")
    assert load_settings(ServiceWithProviders).spotify_accounts_url.startswith("http://127.0.0.1:3199")
