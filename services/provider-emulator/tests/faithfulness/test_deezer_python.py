"""deezer-python (httpx-based) against the emulator's api.deezer.com.

deezer-python has no base-URL option: its ``Client`` is an ``httpx.Client`` built with
``base_url="https://api.deezer.com"``, so the test sets httpx's public ``base_url`` property to the
emulator. Its paginator keeps only the *path* of Deezer's absolute ``next`` links and joins it to the
base URL, so the emulator runs with ``link_style=real`` (links name https://api.deezer.com, as
Deezer's do); with emulator-style links the path would carry the ``/api.deezer.com`` mount twice.
"""

from __future__ import annotations

from typing import Any

import deezer
import pytest
from deezer.exceptions import DeezerErrorResponse, DeezerRetryableHTTPError

from .conftest import Emulator

HOST = "api.deezer.com"
NAMES = [f"Faithful {i}" for i in range(7)]


def client(emulator: Emulator, token: str | None) -> deezer.Client:
    dz = deezer.Client(access_token=token)
    dz.base_url = emulator.url(HOST)  # type: ignore[assignment]
    return dz


@pytest.fixture
def user(emulator: Emulator) -> dict[str, Any]:
    """Seven playlists (the first with 60 tracks) and 30 loved tracks, with links as Deezer writes them."""
    emulator.config(link_style="real")
    specs: list[dict[str, Any]] = [{"name": n, "size": 2} for n in NAMES]
    specs[0] = {"name": NAMES[0], "size": 60}
    return emulator.admin(  # type: ignore[no-any-return]
        "POST",
        "/users",
        {
            "provider": "deezer",
            "name": "Faith Ful",
            "scopes": ["basic_access", "email", "offline_access", "manage_library", "delete_library"],
            "library": {"playlists": specs, "liked_count": 30},
        },
    )


def error_of(err: pytest.ExceptionInfo[DeezerErrorResponse]) -> dict[str, Any]:
    return err.value.json_data["error"]  # type: ignore[return-value]


def test_authenticates_with_an_admin_created_users_token(emulator: Emulator, user: dict[str, Any]):
    me = client(emulator, user["tokens"]["access_token"]).get_user()
    assert isinstance(me, deezer.User)
    assert me.id == int(user["user"]["id"])
    assert me.name == "Faith Ful" and me.firstname == "Faith" and me.lastname == "Ful"
    assert me.email == user["user"]["email"]

    with pytest.raises(DeezerErrorResponse) as err:  # Deezer says no with HTTP 200
        client(emulator, "not-a-token").get_user()
    assert error_of(err) == {"type": "OAuthException", "message": "Invalid OAuth access token.", "code": 300}
    with pytest.raises(DeezerErrorResponse) as err:
        client(emulator, None).get_user()
    assert error_of(err)["code"] == 200


def test_lists_the_users_playlists_across_pages(emulator: Emulator, user: dict[str, Any]):
    dz = client(emulator, user["tokens"]["access_token"])
    me = dz.get_user()
    playlists = me.get_playlists(limit=3)
    assert len(playlists) == 8  # `total` (asked with limit=1): Loved Tracks + 7
    items = list(playlists)
    assert all(isinstance(p, deezer.Playlist) for p in items)
    assert items[0].is_loved_track and items[0].nb_tracks == 30
    assert [p.title for p in items[1:]] == list(reversed(NAMES))
    assert items[-1].nb_tracks == 60
    pages = emulator.calls(HOST)["GET /api.deezer.com/user/{user_id}/playlists"]
    assert pages == 1 + 3  # the total, then three pages of three by following `next`


def test_reads_a_playlists_tracks_across_pages(emulator: Emulator, user: dict[str, Any]):
    dz = client(emulator, user["tokens"]["access_token"])
    library = emulator.library("deezer", user["user"]["id"])
    big = next(p for p in library["playlists"] if p["name"] == NAMES[0])
    playlist = dz.get_playlist(int(big["id"]))
    assert playlist.title == NAMES[0] and playlist.nb_tracks == 60
    assert playlist.creator.id == int(user["user"]["id"])
    tracks = list(playlist.get_tracks())  # default pages of 25: 25, 25, 10
    assert [str(t.id) for t in tracks] == big["tracks"]
    assert all(isinstance(t, deezer.Track) and t.duration > 0 for t in tracks)
    # list() asks len() first (a limit=1 request for `total`), then three pages through `next`
    assert emulator.calls(HOST)["GET /api.deezer.com/playlist/{playlist_id}/tracks"] == 1 + 3

    loved = list(dz.get_user_tracks())
    assert [str(t.id) for t in loved] == library["liked"]


def test_search_by_text_and_track_by_isrc(emulator: Emulator, user: dict[str, Any]):
    dz = client(emulator, user["tokens"]["access_token"])
    library = emulator.library("deezer", user["user"]["id"])
    track_id = int(library["playlists"][-1]["tracks"][5])
    track = dz.get_track(track_id)
    assert track.isrc and track.artist.name

    # Deezer's search has no ISRC filter: /track/isrc:{ISRC} is the lookup
    by_isrc = dz.request("GET", f"track/isrc:{track.isrc}")
    assert isinstance(by_isrc, deezer.Track) and by_isrc.isrc == track.isrc
    expected = {int(i) for i in emulator.mapping(isrc=track.isrc)["deezer"]}
    assert by_isrc.id in expected and track_id in expected
    with pytest.raises(DeezerErrorResponse) as err:
        dz.request("GET", "track/isrc:ZZZZZ0000000")
    assert error_of(err) == {"type": "DataException", "message": "no data", "code": 800}

    found = dz.search(track=track.title, artist=track.artist.name)  # q=track:"…" artist:"…"
    assert track_id in [t.id for t in found]

    many = dz.search("love")  # pages of 25 followed through `next`
    assert len(many) > 50
    first_60 = many[:60]
    assert len({t.id for t in first_60}) == 60
    assert all(isinstance(t, deezer.Track) for t in first_60)


def test_creates_a_playlist_and_adds_tracks(emulator: Emulator, user: dict[str, Any]):
    dz = client(emulator, user["tokens"]["access_token"])
    library = emulator.library("deezer", user["user"]["id"])
    source = [int(t) for t in library["playlists"][-1]["tracks"][:4]]

    new_id = dz.create_playlist("Made by deezer-python")
    assert isinstance(new_id, int)
    playlist = dz.get_playlist(new_id)
    assert playlist.title == "Made by deezer-python" and playlist.nb_tracks == 0

    assert playlist.add_tracks(source[:3]) is True
    assert playlist.add_tracks([dz.get_track(source[3])]) is True  # Track objects work too
    assert [t.id for t in playlist.get_tracks()] == source
    assert dz.get_playlist(new_id).nb_tracks == 4

    with pytest.raises(DeezerErrorResponse) as err:
        playlist.add_tracks([source[0]])
    assert error_of(err)["message"] == "This song already exists in this playlist"

    titles = [p.title for p in dz.get_user().get_playlists()]
    assert titles[:2] == ["Loved Tracks", "Made by deezer-python"]

    assert dz.delete_playlist(new_id) is True
    with pytest.raises(DeezerErrorResponse) as err:
        dz.get_playlist(new_id)
    assert error_of(err)["code"] == 800


def test_quota_answer_raises_an_error_response_without_retry(emulator: Emulator, user: dict[str, Any]):
    """Deezer's "429" is HTTP 200 with error code 4: deezer-python raises, it does not wait or retry."""
    dz = client(emulator, user["tokens"]["access_token"])
    emulator.fault("deezer", storm_requests=1)
    with pytest.raises(DeezerErrorResponse) as err:
        dz.get_user()
    assert error_of(err) == {"type": "Exception", "message": "Quota limit exceeded", "code": 4}
    assert emulator.calls(HOST)["GET /api.deezer.com/user/{user_id}"] == 1
    assert dz.get_user().id == int(user["user"]["id"])


def test_the_real_quota_of_the_emulator_is_met_mid_pagination(emulator: Emulator, user: dict[str, Any]):
    """The emulator's own limit (here 3 per 5 s): iterating pages stops with the quota error."""
    dz = client(emulator, user["tokens"]["access_token"])
    emulator.admin("PUT", "/rate-limits/deezer", {"limit": 3, "window_s": 5})
    library = emulator.library("deezer", user["user"]["id"])
    big = next(p for p in library["playlists"] if p["name"] == NAMES[0])
    playlist = dz.get_playlist(int(big["id"]))  # 1
    tracks = iter(playlist.get_tracks())
    seen = [next(tracks) for _ in range(50)]  # pages 2 and 3 of the quota
    with pytest.raises(DeezerErrorResponse) as err:
        next(tracks)  # the third page is refused
    assert error_of(err)["code"] == 4
    assert [str(t.id) for t in seen] == big["tracks"][:50]


def test_an_outage_is_a_retryable_http_error(emulator: Emulator, user: dict[str, Any]):
    dz = client(emulator, user["tokens"]["access_token"])
    emulator.fault("deezer", fail_next=1, error_status=503)
    with pytest.raises(DeezerRetryableHTTPError):
        dz.get_user()
    assert dz.get_user().id == int(user["user"]["id"])


def test_edits_a_playlist_and_loved_tracks(emulator: Emulator, user: dict[str, Any]):
    """Reorder, remove, rename; love and unlove through the User resource; an album from a track."""
    dz = client(emulator, user["tokens"]["access_token"])
    library = emulator.library("deezer", user["user"]["id"])
    t = [int(x) for x in library["playlists"][-1]["tracks"][40:44]]  # not among the 30 loved
    playlist = dz.get_playlist(dz.create_playlist("Edit me"))
    playlist.add_tracks(t)

    assert playlist.reorder_tracks([t[3], t[2], t[1], t[0]]) is True
    assert playlist.delete_tracks([t[2]]) is True
    assert [x.id for x in playlist.get_tracks()] == [t[3], t[1], t[0]]
    assert dz.request("POST", f"playlist/{playlist.id}", params={"title": "Edited"}) is True
    assert dz.get_playlist(playlist.id).title == "Edited"

    me = dz.get_user()
    new_love = t[3]
    assert new_love not in [x.id for x in me.get_tracks()]
    assert me.add_track(new_love) is True
    assert me.get_tracks()[0].id == new_love  # newest first
    assert dz.get_user().get_playlists()[0].nb_tracks == 31  # Loved Tracks follows the loved list
    assert me.remove_track(new_love) is True
    assert len(me.get_tracks()) == 30

    track = dz.get_track(t[0])
    album = track.get_album()
    assert isinstance(album, deezer.Album) and album.id == track.album.id
    assert t[0] in [x.id for x in album.tracks]
