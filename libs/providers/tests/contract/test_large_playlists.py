"""A 10,000-track playlist read and written in the fewest calls each API allows (YouTube: 5,000, its cap).

The expected counts are the contract; the README's table is these numbers.
"""

from __future__ import annotations

import pytest

from pm_providers import Providers
from pm_providers.errors import PlaylistTooLarge
from pm_providers.models import ProviderName

from .conftest import EmulatorHarness, EmulatorTokens

pytestmark = pytest.mark.integration

SIZE = {
    ProviderName.SPOTIFY: 10_000,
    ProviderName.DEEZER: 10_000,
    ProviderName.TIDAL: 10_000,
    ProviderName.YOUTUBE: 5_000,
}

# Calls to read every entry with its metadata (YouTube: + one videos.list per page for durations).
READ_CALLS = {
    ProviderName.SPOTIFY: {
        "GET /v1/playlists/{playlist_id}": 1,
        "GET /v1/playlists/{playlist_id}/items": 198,
    },
    ProviderName.DEEZER: {"GET /playlist/{playlist_id}/tracks": 5},
    ProviderName.TIDAL: {"GET /v2/playlists/{playlist_id}/relationships/items": 500},
    ProviderName.YOUTUBE: {"GET /youtube/v3/playlistItems": 100, "GET /youtube/v3/videos": 100},
}
# Calls to create a playlist and write every entry into it.
WRITE_CALLS = {
    ProviderName.SPOTIFY: {"POST /v1/me/playlists": 1, "POST /v1/playlists/{playlist_id}/items": 100},
    ProviderName.DEEZER: {
        "POST /user/{user_id}/playlists": 1,
        "POST /playlist/{playlist_id}": 1,  # private: Deezer creates with a title only
        "POST /playlist/{playlist_id}/tracks": 20,
    },
    ProviderName.TIDAL: {
        "POST /v2/playlists": 1,
        "POST /v2/playlists/{playlist_id}/relationships/items": 200,
    },
    ProviderName.YOUTUBE: {"POST /youtube/v3/playlists": 1, "POST /youtube/v3/playlistItems": 5000},
}


@pytest.mark.parametrize("provider", list(ProviderName), ids=str)
async def test_large_playlist_read_and_write_in_fewest_calls(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    size = SIZE[provider]
    user = await emulator.create_user(provider, [{"name": "Big", "size": size}])
    pid = user.playlists[0]["id"]
    expected_ids = await emulator.playlist_track_ids(user, pid)
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user), user_key=user.id)

    await emulator.reset_calls()
    tracks = await adapter.read_all(pid)
    assert [t.id for t in tracks] == expected_ids
    assert [t.position for t in tracks] == list(range(size))
    assert all(t.title and t.duration_ms for t in tracks if t.available)
    assert await emulator.calls(provider) == READ_CALLS[provider]

    await emulator.reset_calls()
    created = await adapter.create_playlist("Copy")
    result = await adapter.add_tracks(created.id, expected_ids)
    assert result.written == size
    assert await emulator.playlist_track_ids(user, created.id) == expected_ids
    assert await emulator.calls(provider) == WRITE_CALLS[provider]


async def test_youtube_cap_is_a_typed_error_before_any_call(
    emulator: EmulatorHarness, providers: Providers
) -> None:
    user = await emulator.create_user(ProviderName.YOUTUBE, [{"name": "Big", "size": 5_000}])
    ids = await emulator.playlist_track_ids(user, user.playlists[0]["id"])
    adapter = providers.adapter(ProviderName.YOUTUBE, EmulatorTokens(emulator, user))
    created = await adapter.create_playlist("Too big")
    await emulator.reset_calls()
    with pytest.raises(PlaylistTooLarge) as err:
        await adapter.add_tracks(created.id, [*ids, ids[0]])
    assert err.value.limit == 5_000
    assert await emulator.total_calls(ProviderName.YOUTUBE) == 0


async def test_spotify_legacy_shape_large_playlist(emulator: EmulatorHarness, providers: Providers) -> None:
    """Pre-2026 / extended-quota shape: /tracks pages hold 100, so the read is 1 + 99 calls."""
    await emulator.config(spotify_mode="legacy")
    user = await emulator.create_user(ProviderName.SPOTIFY, [{"name": "Big", "size": 10_000}])
    pid = user.playlists[0]["id"]
    ids = await emulator.playlist_track_ids(user, pid)
    adapter = providers.adapter(ProviderName.SPOTIFY, EmulatorTokens(emulator, user))
    await emulator.reset_calls()
    assert [t.id for t in await adapter.read_all(pid)] == ids
    assert await emulator.calls(ProviderName.SPOTIFY) == {
        "GET /v1/playlists/{playlist_id}": 1,
        "GET /v1/playlists/{playlist_id}/tracks": 99,
    }
    await emulator.reset_calls()
    created = await adapter.create_playlist("Copy")
    await adapter.add_tracks(created.id, ids)
    assert await emulator.playlist_track_ids(user, created.id) == ids
    assert await emulator.calls(ProviderName.SPOTIFY) == {
        "POST /v1/me/playlists": 1,
        "POST /v1/playlists/{playlist_id}/tracks": 100,
    }
