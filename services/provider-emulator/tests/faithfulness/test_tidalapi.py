"""tidalapi (the unofficial TIDAL client) against the emulator's api.tidal.com.

tidalapi speaks TIDAL's *private* API, the one TIDAL's own apps use (``api.tidal.com/v1``, one call
on ``api.tidal.com/v2``), not the developer platform (``openapi.tidal.com/v2``) that the project's
adapter uses; only its ISRC lookup starts on the developer platform. The emulator serves a subset of
the private API (``http/tidal_v1_api.py``) over the same users, playlists and catalog, so what
tidalapi sees here is what the adapter sees through openapi.tidal.com. Every base URL is a
``tidalapi.Config`` attribute; nothing else needs changing.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests
import tidalapi
from tidalapi.exceptions import ObjectNotFound, TooManyRequests
from tidalapi.workers import get_items

from .conftest import Emulator

NAMES = [f"Faithful {i}" for i in range(7)]


def config(emulator: Emulator) -> tidalapi.Config:
    cfg = tidalapi.Config()
    cfg.api_v1_location = f"{emulator.url('api.tidal.com')}/v1/"
    cfg.api_v2_location = f"{emulator.url('api.tidal.com')}/v2/"
    cfg.openapi_v2_location = f"{emulator.url('openapi.tidal.com')}/v2/"
    cfg.api_oauth2_token = f"{emulator.url('auth.tidal.com')}/v1/oauth2/token"
    # the emulator's development client instead of the app credentials tidalapi carries
    cfg.client_id, cfg.client_secret = "pm-dev-tidal", "pm-dev-tidal-secret"
    return cfg


@pytest.fixture
def cfg(emulator: Emulator) -> tidalapi.Config:
    return config(emulator)


@pytest.fixture
def user(emulator: Emulator, cfg: tidalapi.Config) -> dict[str, Any]:
    """Seven playlists (the first with 120 tracks), tokens issued to the client tidalapi is set to."""
    specs: list[dict[str, Any]] = [{"name": n, "size": 2} for n in NAMES]
    specs[0] = {"name": NAMES[0], "size": 120, "description": "big one"}
    return emulator.create_user("tidal", specs, name="Faith Ful", client_id=cfg.client_id)


@pytest.fixture
def session(cfg: tidalapi.Config, user: dict[str, Any]) -> tidalapi.Session:
    s = tidalapi.Session(cfg)
    assert s.load_oauth_session("Bearer", user["tokens"]["access_token"], user["tokens"]["refresh_token"])
    return s


def test_loads_an_oauth_session_and_refreshes_an_expired_token(
    emulator: Emulator, user: dict[str, Any], session: tidalapi.Session
):
    me = session.user
    assert isinstance(me, tidalapi.LoggedInUser)
    assert me.id == int(user["user"]["id"])
    assert (me.first_name, me.last_name, me.email) == ("Faith", "Ful", user["user"]["email"])
    assert session.country_code == "US" and session.check_login()

    # TIDAL's 401 "The token has expired." makes tidalapi refresh at auth.tidal.com (with the
    # configured client id and secret) and repeat the call
    old = session.access_token
    emulator.admin("POST", f"/tokens/{old}/expire")
    assert session.get_user(me.id).id == me.id
    assert session.access_token != old

    # an unknown token: load_oauth_session raises the 401 (its `return False` is never reached)
    with pytest.raises(requests.HTTPError, match="401"):
        tidalapi.Session(session.config).load_oauth_session("Bearer", "not-a-token")


def test_lists_playlists_and_pages_through_tracks(
    emulator: Emulator, user: dict[str, Any], session: tidalapi.Session
):
    playlists = session.user.playlists()  # one request (tidalapi asks limit=1000)
    assert [p.name for p in playlists] == list(reversed(NAMES))
    assert all(isinstance(p, tidalapi.UserPlaylist) for p in playlists)  # creator is the session's user
    big = playlists[-1]
    assert big.num_tracks == 120 and big.description == "big one"

    library = emulator.library("tidal", user["user"]["id"])
    expected = next(p["tracks"] for p in library["playlists"] if p["name"] == NAMES[0])
    tracks = big.tracks_paginated()  # the count (limit=1), then pages of 50 on two threads
    assert [str(t.id) for t in tracks] == expected
    calls = emulator.calls("api.tidal.com")["GET /api.tidal.com/v1/playlists/{playlist_id}/tracks"]
    assert calls == 1 + 3

    page = big.items(limit=100, offset=100)  # /items: at most 100 a page
    assert [str(t.id) for t in page] == expected[100:]
    assert all(t.date_added is not None for t in page)
    with pytest.raises(requests.HTTPError, match="400"):
        big.items(limit=101)


def test_search_by_text_and_tracks_by_isrc(
    emulator: Emulator, user: dict[str, Any], session: tidalapi.Session
):
    library = emulator.library("tidal", user["user"]["id"])
    track = session.track(library["playlists"][-1]["tracks"][4])
    assert track.isrc and track.artist.name and track.album.name

    # the ISRC lookup is on the developer platform; tidalapi then reads each track from v1
    found = session.get_tracks_by_isrc(track.isrc)
    expected = emulator.mapping(isrc=track.isrc)["tidal"]
    assert sorted(str(t.id) for t in found) == sorted(expected) and track.id in [t.id for t in found]

    results = session.search(f"{track.artist.name} {track.name}", models=[tidalapi.Track], limit=10)
    assert track.id in [t.id for t in results["tracks"]]
    assert isinstance(results["top_hit"], tidalapi.Track)

    love = session.search("love", models=[tidalapi.Track], limit=20)
    more = session.search("love", models=[tidalapi.Track], limit=20, offset=20)
    assert len(love["tracks"]) == len(more["tracks"]) == 20
    assert {t.id for t in love["tracks"]}.isdisjoint(t.id for t in more["tracks"])
    assert love["artists"] == [] and love["albums"] == []

    with pytest.raises(ObjectNotFound):
        session.track("1")


def test_creates_a_playlist_and_edits_it(emulator: Emulator, user: dict[str, Any], session: tidalapi.Session):
    library = emulator.library("tidal", user["user"]["id"])
    source = library["playlists"][-1]["tracks"][:5]
    created = session.user.create_playlist("Made by tidalapi", "via the private API")
    assert isinstance(created, tidalapi.UserPlaylist)
    assert created.name == "Made by tidalapi" and created.num_tracks == 0

    assert created.add(source[:3]) == [int(x) for x in source[:3]]
    assert created.add([source[0], source[3]]) == [int(source[3])]  # duplicates skipped (onDupes=SKIP)
    assert created.add([source[4]], position=0) == [int(source[4])]
    assert [str(t.id) for t in created.tracks()] == [source[4], *source[:4]]

    assert created.move_by_index(0, 3)
    assert created.remove_by_index(0)
    assert [str(t.id) for t in created.tracks()] == [source[1], source[2], source[4], source[3]]
    assert created.edit(title="Edited")

    # the same playlist through the developer platform's view of the library
    mine = emulator.library("tidal", user["user"]["id"])["playlists"][0]
    assert (mine["id"], mine["name"]) == (created.id, "Edited")
    assert mine["tracks"] == [source[1], source[2], source[4], source[3]]

    stale = session.playlist(created.id)
    created.add([source[0]])  # another writer moves the ETag on
    with pytest.raises(requests.HTTPError, match="412"):
        stale.add([source[0]], allow_duplicates=True)
    assert created.delete()
    with pytest.raises(ObjectNotFound):
        session.playlist(created.id)


def test_429_raises_too_many_requests(emulator: Emulator, user: dict[str, Any], session: tidalapi.Session):
    """tidalapi does not retry: it raises TooManyRequests carrying Retry-After."""
    emulator.fault("tidal", storm_requests=1, storm_retry_after=9)
    track_id = emulator.library("tidal", user["user"]["id"])["playlists"][-1]["tracks"][0]
    with pytest.raises(TooManyRequests) as err:
        session.track(track_id)
    assert err.value.retry_after == 9
    assert str(session.track(track_id).id) == track_id


def test_429_in_paginated_reads_loses_pages_silently(
    emulator: Emulator, user: dict[str, Any], session: tidalapi.Session, caplog: pytest.LogCaptureFixture
):
    """tidalapi's paginated helpers log a failed page and carry on: a 429 makes the list short."""
    big = session.user.playlists()[-1]
    every = [t.id for t in big.tracks_paginated()]
    assert len(every) == 120
    # tracks_paginated() is these two steps; the 429 is to meet a page, not the count
    count = big.get_tracks_count()
    emulator.fault("tidal", storm_requests=1, storm_retry_after=1)
    with caplog.at_level(logging.ERROR, logger="tidalapi.workers"):
        tracks = get_items(big.tracks, count)
    ids = [t.id for t in tracks]
    assert len(ids) in (70, 100)  # one page of 50 (or the last, of 20) is missing, nothing raised
    assert ids == [i for i in every if i in set(ids)]
    assert any("Failed to run" in r.getMessage() for r in caplog.records)
