"""Every operation of the interface against every adapter: reads, edits, search, names, shapes."""

from __future__ import annotations

import random

import pytest

from pm_provider_emulator.domain.catalog import Catalogs
from pm_providers import Providers
from pm_providers.errors import NotFound, QuotaExceeded
from pm_providers.models import ProviderName
from pm_providers.settings import YoutubeQuota

from .conftest import (
    EmulatorHarness,
    EmulatorTokens,
    ProvidersFactory,
    catalog_ids,
)

pytestmark = pytest.mark.integration

ALL = pytest.mark.parametrize("provider", list(ProviderName), ids=str)


@ALL
async def test_current_user(provider: ProviderName, emulator: EmulatorHarness, providers: Providers) -> None:
    user = await emulator.create_user(provider)
    me = await providers.adapter(provider, EmulatorTokens(emulator, user)).current_user()
    assert me.provider is provider
    assert me.id == user.id
    if provider is ProviderName.SPOTIFY:
        assert me.account_id  # the 2026 stable id (current mode)


EMPTY_READ_CALLS = {
    ProviderName.SPOTIFY: {"GET /v1/playlists/{playlist_id}": 1},
    ProviderName.DEEZER: {"GET /playlist/{playlist_id}/tracks": 1},
    ProviderName.TIDAL: {"GET /v2/playlists/{playlist_id}/relationships/items": 1},
    ProviderName.YOUTUBE: {"GET /youtube/v3/playlistItems": 1},
}


@ALL
async def test_empty_playlist(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    user = await emulator.create_user(provider, [{"name": "Empty"}])
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))
    await emulator.reset_calls()
    assert await adapter.read_all(user.playlists[0]["id"]) == []
    assert await emulator.calls(provider) == EMPTY_READ_CALLS[provider]


@ALL
async def test_unavailable_tracks_are_flagged(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers, catalogs: Catalogs
) -> None:
    ok = catalog_ids(catalogs, provider, available=True, n=3)
    gone = catalog_ids(catalogs, provider, available=False, n=2)
    order = [ok[0], gone[0], ok[1], gone[1], ok[2]]
    user = await emulator.create_user(provider, [{"name": "Mixed", "tracks": order}])
    tracks = await providers.adapter(provider, EmulatorTokens(emulator, user)).read_all(
        user.playlists[0]["id"]
    )
    assert [t.id for t in tracks] == order
    assert [t.available for t in tracks] == [True, False, True, False, True]
    assert [t.position for t in tracks] == [0, 1, 2, 3, 4]


async def test_spotify_local_files_are_entries_without_id(
    emulator: EmulatorHarness, providers: Providers, catalogs: Catalogs
) -> None:
    ok = catalog_ids(catalogs, ProviderName.SPOTIFY, available=True, n=2)
    local = "spotify:local:Massive+Attack:Mezzanine:Teardrop:331"
    user = await emulator.create_user(
        ProviderName.SPOTIFY, [{"name": "Local", "tracks": [ok[0], local, ok[1]]}]
    )
    adapter = providers.adapter(ProviderName.SPOTIFY, EmulatorTokens(emulator, user))
    tracks = await adapter.read_all(user.playlists[0]["id"])
    assert [t.is_local for t in tracks] == [False, True, False]
    lt = tracks[1]
    assert lt.id is None and lt.uri == local and lt.position == 1
    assert lt.title == "Teardrop" and lt.artists == ("Massive Attack",) and lt.duration_ms == 331_000


NAMES = [
    "Ünïcödé — café ☕ 東京 ночь",
    "🎧🔥 Gym 💪🏽 👩‍👩‍👧‍👦 🏳️‍🌈",
    "Long " + "é🎵" * 150,  # 305 characters
]


@ALL
async def test_unicode_emoji_and_long_names(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    user = await emulator.create_user(provider)
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))
    limit = adapter.limits.max_name_length
    for name in NAMES:
        created = await adapter.create_playlist(name, description="desc ✨ " + name)
        stored = await adapter.playlist(created.id)
        want = name if limit is None or len(name) <= limit else name[:limit].rstrip()
        assert stored.name == want
        assert len(stored.name) <= (limit or len(name))
        assert stored.description == "desc ✨ " + name
        renamed = "renamed " + name
        await adapter.update_details(created.id, name=renamed)
        stored = await adapter.playlist(created.id)
        assert stored.name == (renamed if limit is None else renamed[:limit].rstrip())
        assert stored.description == "desc ✨ " + name  # a rename keeps the description


@ALL
async def test_edits_remove_reorder_replace_rename_delete(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    user = await emulator.create_user(provider, [{"name": "Edit", "size": 60}])
    pid = user.playlists[0]["id"]
    all_ids = await emulator.playlist_track_ids(user, pid)
    ids, spare = all_ids[:40], all_ids[40:]
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))
    await adapter.replace_tracks(pid, ids)
    assert await emulator.playlist_track_ids(user, pid) == ids

    # remove three entries, by the positions just read
    tracks = await adapter.read_all(pid)
    await adapter.remove_tracks(pid, [tracks[0], tracks[17], tracks[39]])
    expected = [t for i, t in enumerate(ids) if i not in (0, 17, 39)]
    assert await emulator.playlist_track_ids(user, pid) == expected

    # reorder: a shuffle
    tracks = await adapter.read_all(pid)
    target = list(tracks)
    random.Random(7).shuffle(target)
    result = await adapter.reorder(pid, tracks, target)
    assert await emulator.playlist_track_ids(user, pid) == [t.id for t in target]
    assert result.moved <= len(tracks)

    # replace: keep some (in another order), drop some, add new ones in between
    current = await adapter.read_all(pid)
    have = [t.id or "" for t in current]
    wanted = [spare[0], have[5], have[3], spare[1], spare[2], *have[10:20], spare[3]]
    await adapter.replace_tracks(pid, wanted, current=current)
    assert await emulator.playlist_track_ids(user, pid) == wanted

    # rename / describe
    await adapter.update_details(pid, name="New name", description="New description")
    details = await adapter.playlist(pid)
    assert (details.name, details.description) == ("New name", "New description")

    # delete: gone from the library (Spotify has no deletion: the unfollowed playlist stays readable
    # by id, as upstream; the others delete it)
    await adapter.delete_playlist(pid)
    assert pid not in [p.id async for p in adapter.playlists()]
    if provider is not ProviderName.SPOTIFY:
        with pytest.raises(NotFound):
            await adapter.read_all(pid)


@ALL
async def test_search_by_isrc_and_text(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers, catalogs: Catalogs
) -> None:
    user = await emulator.create_user(provider, [{"name": "Real", "source_playlist": 0}])
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))
    pid = user.playlists[0]["id"]
    tracks = [t for t in await adapter.read_all(pid) if t.available and t.artists]
    sample = tracks[3]
    isrc = sample.isrc or _isrc_of(catalogs, provider, sample.id or "")
    await emulator.reset_calls()
    by_isrc = await adapter.search_isrc(isrc)
    if provider is ProviderName.YOUTUBE:
        assert by_isrc == []
        assert await emulator.total_calls(provider) == 0  # no ISRC on YouTube: no search spent
    else:
        assert sample.id in [t.id for t in by_isrc]
        assert all(t.isrc == isrc for t in by_isrc)
    found = await adapter.search_tracks(title=_plain_title(sample.title), artist=sample.artists[0], limit=10)
    assert found, "text search finds something"
    assert sample.id in [t.id for t in found]


@ALL
async def test_isrcs_are_looked_up_in_as_few_calls_as_the_provider_allows(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers, catalogs: Catalogs
) -> None:
    """30 ISRCs: TIDAL takes 20 per call (2 calls); Spotify and Deezer one each; YouTube has none."""
    user = await emulator.create_user(provider, [{"name": "Real", "source_playlist": 0}])
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))
    tracks = [t for t in await adapter.read_all(user.playlists[0]["id"]) if t.available and t.id]
    with_isrc = [(t, t.isrc or _catalog_isrc(catalogs, provider, t.id or "")) for t in tracks]
    isrcs = [isrc for _, isrc in with_isrc if isrc][:30]
    assert len(isrcs) == 30
    unknown = "ZZ0000000001"
    await emulator.reset_calls()
    # Lower case and a repeat are the same ISRC, looked up once.
    found = await adapter.search_isrcs([isrcs[0].lower(), *isrcs, unknown])
    assert list(found) == [*dict.fromkeys(isrcs), unknown]
    assert found[unknown] == []
    calls = await emulator.total_calls(provider)
    if provider is ProviderName.YOUTUBE:
        assert calls == 0 and not any(found.values())
        return
    for isrc in isrcs:
        assert found[isrc] and all(t.isrc == isrc for t in found[isrc]), isrc
    distinct = len(dict.fromkeys(isrcs)) + 1
    expected = -(-distinct // 20) if provider is ProviderName.TIDAL else distinct
    assert calls == expected


def _catalog_isrc(catalogs: Catalogs, provider: ProviderName, track_id: str) -> str | None:
    """The ISRC the provider's catalog holds for a track its listings show without one (or None)."""
    if provider is ProviderName.DEEZER:
        return catalogs.deezer[int(track_id)].isrc or None
    if provider is ProviderName.YOUTUBE:
        return catalogs.recordings[catalogs.youtube[track_id].rec].isrc
    return None


def _plain_title(title: str) -> str:
    return title.split(" (")[0].split(" - ")[0]


def _isrc_of(catalogs: Catalogs, provider: ProviderName, track_id: str) -> str:
    if provider is ProviderName.DEEZER:
        return str(catalogs.deezer[int(track_id)].isrc)
    if provider is ProviderName.YOUTUBE:
        rec = catalogs.youtube[track_id].rec
        return str(catalogs.recordings[rec].isrc)
    raise AssertionError("listings of this provider carry the ISRC")


@ALL
async def test_liked_tracks_every_page(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    user = await emulator.create_user(provider, liked_count=130)
    liked = (await emulator.user_state(user))["liked"]
    tracks = [t async for t in providers.adapter(provider, EmulatorTokens(emulator, user)).liked_tracks()]
    assert [t.id for t in tracks] == liked
    assert all(t.title for t in tracks)


@ALL
async def test_playlists_every_page(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers
) -> None:
    user = await emulator.create_user(provider, [{"name": f"P{i:02d}"} for i in range(55)])
    found = [p async for p in providers.adapter(provider, EmulatorTokens(emulator, user)).playlists()]
    names = {p.name for p in found if not p.is_liked_collection}
    assert names == {f"P{i:02d}" for i in range(55)}
    assert len(found) == 55 + (1 if provider is ProviderName.DEEZER else 0)  # + Loved Tracks
    if provider is ProviderName.DEEZER:
        assert [p.name for p in found if p.is_liked_collection] == ["Loved Tracks"]


async def test_spotify_legacy_shape(emulator: EmulatorHarness, providers: Providers) -> None:
    """Before 2026 (or with extended quota): /tracks, entries with ``track`` only, remove key "tracks"."""
    await emulator.config(spotify_mode="legacy")
    user = await emulator.create_user(ProviderName.SPOTIFY, [{"name": "Old", "size": 250}])
    pid = user.playlists[0]["id"]
    ids = await emulator.playlist_track_ids(user, pid)
    adapter = providers.adapter(ProviderName.SPOTIFY, EmulatorTokens(emulator, user))
    await emulator.reset_calls()
    tracks = await adapter.read_all(pid)
    assert [t.id for t in tracks] == ids
    assert await emulator.calls(ProviderName.SPOTIFY) == {
        "GET /v1/playlists/{playlist_id}": 1,
        "GET /v1/playlists/{playlist_id}/tracks": 2,  # 100 per page in the legacy shape
    }
    created = await adapter.create_playlist("Copy")
    await adapter.add_tracks(created.id, ids[:120])
    await adapter.remove_tracks(created.id, (await adapter.read_all(created.id))[:10])
    assert await emulator.playlist_track_ids(user, created.id) == ids[10:120]
    assert "POST /v1/playlists/{playlist_id}/items" not in await emulator.calls(ProviderName.SPOTIFY)


async def test_spotify_writes_learn_the_legacy_path(emulator: EmulatorHarness, providers: Providers) -> None:
    """A write before any read: /items answers 404 in the legacy shape, the adapter moves to /tracks once."""
    await emulator.config(spotify_mode="legacy")
    user = await emulator.create_user(ProviderName.SPOTIFY, [{"name": "Old", "size": 300}])
    ids = await emulator.playlist_track_ids(user, user.playlists[0]["id"])
    adapter = providers.adapter(ProviderName.SPOTIFY, EmulatorTokens(emulator, user))
    created = await adapter.create_playlist("Copy")
    await emulator.reset_calls()
    await adapter.add_tracks(created.id, ids)
    assert await emulator.calls(ProviderName.SPOTIFY) == {
        "POST /v1/playlists/{playlist_id}/items": 1,
        "POST /v1/playlists/{playlist_id}/tracks": 3,
    }


@pytest.mark.parametrize("mode", ["current", "legacy"])
async def test_youtube_search_quota(
    mode: str, emulator: EmulatorHarness, make_providers: ProvidersFactory
) -> None:
    """Current: 100 searches a day of their own; legacy: 100 units a search. Remaining quota is
    reported, and a search over it is refused before any call."""
    await emulator.config(youtube_quota_mode=mode)
    providers = await make_providers(
        emulator,
        youtube_quota=YoutubeQuota(mode=mode, units_per_day=500, search_calls_per_day=3),
    )
    user = await emulator.create_user(ProviderName.YOUTUBE, [{"name": "Real", "source_playlist": 0}])
    adapter = providers.adapter(ProviderName.YOUTUBE, EmulatorTokens(emulator, user))
    start = 3 if mode == "current" else 5
    assert await adapter.remaining_search_quota() == start
    assert not await adapter.would_exceed(searches=start)
    assert await adapter.would_exceed(searches=start + 1)
    await adapter.search_tracks(query="love")
    if mode == "current":
        assert await adapter.remaining_search_quota() == 2
    else:
        # 100 units a search, plus 1 for the durations of its results: 399 units, 3 searches.
        assert await adapter.remaining_units() == 399  # type: ignore[attr-defined]
        assert await adapter.remaining_search_quota() == 3
    while await adapter.remaining_search_quota():
        await adapter.search_tracks(query="love")
    await emulator.reset_calls()
    with pytest.raises(QuotaExceeded) as err:
        await adapter.search_tracks(query="love")
    assert err.value.resets_at is not None
    assert await emulator.total_calls(ProviderName.YOUTUBE) == 0


async def test_youtube_write_over_todays_units_is_refused_up_front(
    emulator: EmulatorHarness, make_providers: ProvidersFactory
) -> None:
    providers = await make_providers(emulator, youtube_quota=YoutubeQuota(units_per_day=10_000))
    user = await emulator.create_user(ProviderName.YOUTUBE, [{"name": "Src", "size": 300}])
    ids = await emulator.playlist_track_ids(user, user.playlists[0]["id"])
    adapter = providers.adapter(ProviderName.YOUTUBE, EmulatorTokens(emulator, user))
    created = await adapter.create_playlist("Too much for today")  # 50 units
    await emulator.reset_calls()
    with pytest.raises(QuotaExceeded):
        await adapter.add_tracks(created.id, ids)  # 300 x 50 units > 9,950 left
    assert await emulator.total_calls(ProviderName.YOUTUBE) == 0
    assert await adapter.add_tracks(created.id, ids[:199]) is not None  # 9,950 units: exactly fits
    assert await adapter.would_exceed(writes=1)


async def test_metrics_count_calls(emulator: EmulatorHarness, providers: Providers) -> None:
    user = await emulator.create_user(ProviderName.TIDAL, [{"name": "M", "size": 45}])
    adapter = providers.adapter(ProviderName.TIDAL, EmulatorTokens(emulator, user))
    await adapter.read_all(user.playlists[0]["id"])
    value = providers.metrics.requests.labels("tidal", "playlist_items", "ok")._value.get()
    assert value == 3
