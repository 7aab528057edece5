"""The emulator's objects carry the field names and value types of the recorded real responses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "provider-responses"
REMOVED_IN_2026 = {"available_markets", "popularity", "preview_url", "linked_from"}


def load(name: str) -> Any:
    return json.loads((FIX / name).read_text())


def kinds(obj: dict[str, Any]) -> dict[str, type]:
    return {k: type(v) for k, v in obj.items() if v is not None}


def assert_same_shape(real: dict[str, Any], ours: dict[str, Any], ignore: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    missing = set(real) - set(ours) - ignore
    assert not missing, f"fields missing: {sorted(missing)}"
    for k, t in kinds(real).items():
        if k in ours and ours[k] is not None and k not in ignore:
            assert isinstance(ours[k], t) or (t is int and isinstance(ours[k], float)), (k, t, type(ours[k]))


async def test_spotify_track_matches_recording(make_client: Any):
    real = load("spotify-tracks.json")["tracks"][0]
    legacy = await make_client(spotify_mode="legacy")
    H = {"Authorization": "Bearer demo-spotify-access-token"}
    ids = await (await legacy.get("/_admin/catalog/playlists")).json()
    assert ids
    demo = await (await legacy.get("/_admin/users/spotify/pmdemo.spotify")).json()
    tid = demo["playlists"][0]["tracks"][0]
    ours = await (await legacy.get(f"/api.spotify.com/v1/tracks/{tid}", headers=H)).json()
    assert_same_shape(real, ours)
    assert_same_shape(real["album"], ours["album"])
    assert_same_shape(real["artists"][0], ours["artists"][0])
    current = await make_client()
    ours = await (await current.get(f"/api.spotify.com/v1/tracks/{tid}", headers=H)).json()
    assert_same_shape(real, ours, ignore=REMOVED_IN_2026)
    assert not REMOVED_IN_2026 & set(ours)


async def test_spotify_paging_object(client: TestClient[Any, Any]):
    real = load("spotify-album-tracks-page.json")
    H = {"Authorization": "Bearer demo-spotify-access-token"}
    ours = await (await client.get("/api.spotify.com/v1/me/tracks?limit=50&offset=50", headers=H)).json()
    assert set(real) == set(ours)
    assert ours["previous"]
    assert ours["offset"] == 50


async def test_deezer_track_matches_recording(client: TestClient[Any, Any], catalogs: Any):
    real = load("deezer-track.json")
    tid = sorted(catalogs.deezer)[0]
    ours = await (await client.get(f"/api.deezer.com/track/{tid}")).json()
    assert_same_shape(real, ours, ignore={"track_token"})
    assert_same_shape(real["artist"], ours["artist"])
    assert_same_shape(real["album"], ours["album"])
    assert_same_shape(real["contributors"][0], ours["contributors"][0])


async def test_tidal_relationship_page_matches_recording(client: TestClient[Any, Any]):
    real = load("tidal-album-items.json")
    H = {"Authorization": "Bearer demo-tidal-access-token"}
    pls = await (
        await client.get("/openapi.tidal.com/v2/playlists", headers=H, params={"filter[owners.id]": "me"})
    ).json()
    big = max(pls["data"], key=lambda p: p["attributes"]["numberOfItems"])
    ours = await (
        await client.get(
            f"/openapi.tidal.com/v2/playlists/{big['id']}/relationships/items",
            headers=H,
            params={"countryCode": "US", "include": "items.artists"},
        )
    ).json()
    assert set(real) == set(ours)
    assert set(real["links"]) == set(ours["links"])
    assert set(real["links"]["meta"]) == set(ours["links"]["meta"])
    assert ours["links"]["next"].startswith(f"/playlists/{big['id']}/relationships/items?")
    real_track = next(r for r in real["included"] if r["type"] == "tracks")
    our_track = next(r for r in ours["included"] if r["type"] == "tracks")
    assert_same_shape(real_track["attributes"], our_track["attributes"])
    assert set(real_track["relationships"]) <= set(our_track["relationships"])
    real_artist = next(r for r in real["included"] if r["type"] == "artists")
    our_artist = next(r for r in ours["included"] if r["type"] == "artists")
    assert_same_shape(real_artist["attributes"], our_artist["attributes"])
