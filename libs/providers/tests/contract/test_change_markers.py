"""What the unified library imports with each playlist: the provider's change marker (``snapshot_id``),
the cover and the tracks' release dates, from the listing and from ``playlist(id)`` alike.

Each marker changes when the playlist's tracks are added, removed or reordered and stays as it was
otherwise (reads, changes to another playlist), as the provider documents it: Spotify's
``snapshot_id``, Deezer's ``checksum``, TIDAL's ``lastModifiedAt``; YouTube's ``etag`` versions the
playlist resource, so a move behind the first video leaves it unchanged (the adapter's docstring).
"""

from __future__ import annotations

import pytest

from pm_provider_emulator.domain.catalog import Catalogs
from pm_providers import ProviderAdapter, ProviderPlaylist, Providers
from pm_providers.models import ProviderName

from .conftest import EmulatorHarness, EmulatorTokens, catalog_ids

pytestmark = pytest.mark.integration

ALL = pytest.mark.parametrize("provider", list(ProviderName), ids=str)


async def listed(adapter: ProviderAdapter, playlist_id: str) -> ProviderPlaylist:
    async for p in adapter.playlists():
        if p.id == playlist_id:
            return p
    raise AssertionError(f"{playlist_id} is not listed")


async def marker(adapter: ProviderAdapter, playlist_id: str) -> str:
    """The marker by ``playlist(id)``, checked against the listing's."""
    one = await adapter.playlist(playlist_id)
    assert one.snapshot_id is not None
    assert (await listed(adapter, playlist_id)).snapshot_id == one.snapshot_id
    return one.snapshot_id


@ALL
async def test_markers_change_with_the_tracks_and_only_then(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers, catalogs: Catalogs
) -> None:
    ids = catalog_ids(catalogs, provider, available=True, n=7)
    user = await emulator.create_user(
        provider, [{"name": "Watched", "tracks": ids[:5]}, {"name": "Other", "tracks": ids[:2]}]
    )
    by_name = {p["name"]: p["id"] for p in user.playlists}
    watched, other = by_name["Watched"], by_name["Other"]
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))
    start = await marker(adapter, watched)
    await adapter.read_all(watched)
    assert await marker(adapter, watched) == start  # reading changes nothing
    await adapter.add_tracks(other, [ids[6]])
    assert await marker(adapter, watched) == start  # nor does another playlist's change

    await adapter.add_tracks(watched, [ids[5]])
    added = await marker(adapter, watched)
    assert added != start

    tracks = await adapter.read_all(watched)
    await adapter.reorder(watched, tracks, [tracks[-1], *tracks[:-1]])  # the last one first
    moved = await marker(adapter, watched)
    assert moved != added

    tracks = await adapter.read_all(watched)
    await adapter.remove_tracks(watched, [tracks[2]])
    removed = await marker(adapter, watched)
    assert removed != moved
    assert len({start, added, moved, removed}) == 4

    tracks = await adapter.read_all(watched)
    await adapter.reorder(watched, tracks, [tracks[0], tracks[2], tracks[1], *tracks[3:]])
    behind_the_first = await marker(adapter, watched)
    if provider is ProviderName.YOUTUBE:
        # The etag versions the playlist resource (count, thumbnail = first video): blind to this.
        assert behind_the_first == removed
    else:
        assert behind_the_first != removed


@ALL
async def test_covers_from_the_listing_and_the_playlist(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers, catalogs: Catalogs
) -> None:
    ids = catalog_ids(catalogs, provider, available=True, n=3)
    user = await emulator.create_user(provider, [{"name": "Cover", "tracks": ids}])
    pid = user.playlists[0]["id"]
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))
    one = await adapter.playlist(pid)
    assert one.image_url is not None and one.image_url.startswith("https://")
    assert (await listed(adapter, pid)).image_url == one.image_url
    largest = {
        ProviderName.SPOTIFY: "ab67616d0000b273",  # the 640 px one
        ProviderName.DEEZER: "1000x1000",
        ProviderName.TIDAL: "1080x1080",
        ProviderName.YOUTUBE: f"/{ids[0]}/maxresdefault.jpg",  # the first video's
    }
    assert largest[provider] in one.image_url


@ALL
async def test_release_dates_where_the_provider_gives_them(
    provider: ProviderName, emulator: EmulatorHarness, providers: Providers, catalogs: Catalogs
) -> None:
    ids = catalog_ids(catalogs, provider, available=True, n=3)
    user = await emulator.create_user(provider, [{"name": "Dates", "tracks": ids}], liked=ids)
    adapter = providers.adapter(provider, EmulatorTokens(emulator, user))
    tracks = await adapter.read_all(user.playlists[0]["id"])
    liked = [t async for t in adapter.liked_tracks()]
    dates = [t.release_date for t in tracks + liked]
    if provider in (ProviderName.SPOTIFY, ProviderName.TIDAL):
        assert all(d is not None for d in dates)  # the album's
    else:
        assert dates == [None] * len(dates)  # Deezer listings and YouTube carry none
    if provider is ProviderName.DEEZER:
        isrc = next(t.isrc for t in catalogs.deezer.values() if t.isrc and str(t.id) == ids[0])
        found = await adapter.search_isrc(isrc)  # a full track: the album's date
        assert found and found[0].release_date is not None
