"""The library's insights with the real canonical catalog: the playlist service and the enrichment service
both running in-process (throwaway databases), each given the same imports as its own consumer group
would be; the insights ask the catalog over HTTP with the service credential. Duplicates across
playlists, availability on a service, statistics, and the attacks: another user's playlist, ids that are
no UUIDs, bad parameters."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from pm_contracts.library import ImportedEntry, ImportedPlaylist, ImportedTrack, PlaylistImported
from pm_enrichment.app import definition as enrichment
from pm_platform.consumers import Outcome
from pm_platform.testing import GatewayIdentityKey, deliver, running_service
from pm_playlist.app import definition as playlist

from .conftest import Library, User

pytestmark = pytest.mark.integration

READ_AT = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def both(service_env_factory: Any) -> AsyncIterator[tuple[Library, Any]]:
    """The library, whose ENRICHMENT_URL is an enrichment service of its own."""
    catalog_env = await service_env_factory("enrichment")
    async with running_service(enrichment(), catalog_env, broker="memory") as (catalog_client, catalog_rt):
        gateway_key = GatewayIdentityKey.generate()
        env = await service_env_factory("playlist")
        env["IDENTITY_PUBLIC_KEYS"] = gateway_key.public_keys
        env["ENRICHMENT_URL"] = str(catalog_client.make_url("")).rstrip("/")
        async with running_service(playlist(), env, broker="memory") as (client, rt):
            yield Library(client, rt, gateway_key), catalog_rt


async def _import(
    both: tuple[Library, Any], user: User, provider: str, name: str, tracks: list[dict[str, Any]]
) -> None:
    """What provider-sync sends for one playlist, to the library and to the catalog."""
    library, catalog_rt = both
    event = PlaylistImported(
        user_id=user.id,
        job_id=uuid.uuid4(),
        provider=provider,
        playlist=ImportedPlaylist(provider_playlist_id=f"{provider}-{uuid.uuid4().hex[:8]}", name=name),
        part=1,
        parts=1,
        entries=[ImportedEntry(track=ImportedTrack(**t)) for t in tracks],
        read_at=READ_AT,
    )
    assert await library.deliver(event) is Outcome.HANDLED
    assert await deliver(catalog_rt, event) is Outcome.HANDLED


def _song(track_id: str, title: str, seconds: float, **more: Any) -> dict[str, Any]:
    return {
        "provider_track_id": track_id,
        "title": title,
        "artists": more.pop("artists", ["Massive Attack"]),
        "duration_ms": int(seconds * 1000),
        **more,
    }


async def _playlist_id(user: User, name: str) -> str:
    _, body = await user.call("GET", "/playlists", params={"name": name}, expect=200)
    [found] = body["playlists"]
    return str(found["id"])


async def test_duplicates_availability_and_statistics_from_the_catalog(both: tuple[Library, Any]):
    library, _ = both
    user = library.user()
    tag = uuid.uuid4().hex[:6]
    await _import(
        both,
        user,
        "spotify",
        f"Spotify {tag}",
        [
            _song(f"s1-{tag}", "Teardrop", 330.7, isrc="GBAAA9800006", release_date=date(1998, 4, 20)),
            _song(f"s2-{tag}", "Angel", 379.5, release_date=date(1998, 4, 20)),
        ],
    )
    await _import(
        both,
        user,
        "deezer",
        f"Deezer {tag}",
        [
            _song(f"d1-{tag}", "Teardrop (Remastered)", 331, isrc="GBAAA9800006"),
            _song(f"d2-{tag}", "Angel (feat. Horace Andy)", 380),
            _song(f"d3-{tag}", "Glory Box", 306, artists=["Portishead"], release_date=date(1994, 8, 22)),
            _song(f"d3-{tag}", "Glory Box", 306, artists=["Portishead"], release_date=date(1994, 8, 22)),
        ],
    )
    spotify, deezer = await _playlist_id(user, f"Spotify {tag}"), await _playlist_id(user, f"Deezer {tag}")

    _, dupes = await user.call("GET", "/library/insights/duplicates", expect=200)
    assert (dupes["tracks"], dupes["tracks_in_catalog"], dupes["total"]) == (5, 5, 2)
    assert [[t["title"] for t in g["tracks"]] for g in dupes["groups"]] == [
        ["Angel", "Angel (feat. Horace Andy)"],
        ["Teardrop", "Teardrop (Remastered)"],
    ]
    angel = dupes["groups"][0]["tracks"]
    assert [[(p["name"], p["entries"]) for p in t["playlists"]] for t in angel] == [
        [(f"Spotify {tag}", 1)],
        [(f"Deezer {tag}", 1)],
    ]
    _, first = await user.call("GET", "/library/insights/duplicates", params={"limit": "1"}, expect=200)
    assert (len(first["groups"]), first["next_offset"]) == (1, 1)

    _, there = await user.call(
        "GET",
        "/library/insights/availability",
        params={"playlist_id": spotify, "provider": "deezer"},
        expect=200,
    )
    assert there["counts"] == {"on-service": 0, "matched": 2, "isrc": 0, "absent": 0, "unknown": 0}
    assert there["not_available"] == []
    _, tidal = await user.call(
        "GET",
        "/library/insights/availability",
        params={"playlist_id": deezer, "provider": "tidal"},
        expect=200,
    )
    assert tidal["counts"]["unknown"] == 3 and tidal["tracks"] == 3
    assert [t["title"] for t in tidal["not_available"]] == [
        "Teardrop (Remastered)",
        "Angel (feat. Horace Andy)",
        "Glory Box",
    ]
    assert {t["availability"] for t in tidal["not_available"]} == {"unknown"}
    _, own = await user.call(
        "GET",
        "/library/insights/availability",
        params={"playlist_id": deezer, "provider": "deezer"},
        expect=200,
    )
    assert own["counts"]["on-service"] == 3

    _, stats = await user.call("GET", "/library/insights/statistics", expect=200)
    # Five distinct tracks (Glory Box twice in one playlist is one track), two artists credited.
    assert (stats["tracks"], stats["artists"], stats["tracks_with_isrc"], stats["isrc_share"]) == (
        5,
        2,
        2,
        0.4,
    )
    assert stats["per_artist"][0] == {"artist": "Massive Attack", "tracks": 4}
    assert stats["per_decade"] == {"1990s": 3, "unknown": 2}
    _, one = await user.call(
        "GET", "/library/insights/statistics", params={"playlist_id": deezer}, expect=200
    )
    assert one["tracks"] == 3 and one["playlist_id"] == deezer

    # Another user sees none of it: no duplicates, and the playlist is no playlist of theirs.
    other = library.user()
    _, theirs = await other.call("GET", "/library/insights/duplicates", expect=200)
    assert (theirs["total"], theirs["tracks"]) == (0, 0)
    for path, query in [
        ("availability", {"playlist_id": spotify, "provider": "deezer"}),
        ("statistics", {"playlist_id": spotify}),
    ]:
        _, problem = await other.call("GET", f"/library/insights/{path}", params=query, expect=404)
        assert problem["type"].endswith("/playlist-not-found")


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("availability", {"provider": "deezer"}, 422),
        ("availability", {"playlist_id": str(uuid.uuid4())}, 422),
        ("availability", {"playlist_id": str(uuid.uuid4()), "provider": "myspace"}, 422),
        ("availability", {"playlist_id": "../../etc", "provider": "deezer"}, 404),
        ("availability", {"playlist_id": str(uuid.uuid4()), "provider": "deezer"}, 404),
        ("statistics", {"playlist_id": "' OR 1=1 --"}, 404),
        ("duplicates", {"limit": "0"}, 422),
        ("duplicates", {"limit": "501"}, 422),
        ("duplicates", {"offset": "-1"}, 422),
        ("duplicates", {"offset": "1e3"}, 422),
    ],
)
async def test_bad_requests_are_refused_clearly(
    both: tuple[Library, Any], path: str, query: dict[str, str], status: int
):
    library, _ = both
    _, problem = await library.user().call("GET", f"/library/insights/{path}", params=query, expect=status)
    assert problem["status"] == status and problem["type"]
