"""google-api-python-client (YouTube Data API v3) against the emulator.

The client is built from the discovery document bundled with the library (``static_discovery=True``:
no discovery request, no network); that document's ``rootUrl`` is https://youtube.googleapis.com/,
replaced through ``client_options.api_endpoint``. Credentials are google-auth's
``google.oauth2.credentials.Credentials`` whose ``token_uri`` is the emulator's
oauth2.googleapis.com, so an expired token is refreshed against the emulator too.
"""

from __future__ import annotations

from typing import Any

import httplib2
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import Resource, build
from googleapiclient.errors import HttpError

from .conftest import Emulator

HOST = "youtube.googleapis.com"
NAMES = [f"Faithful {i}" for i in range(7)]
CLIENT_ID = "pm-dev-youtube.apps.googleusercontent.com"
CLIENT_SECRET = "pm-dev-youtube-secret"


def credentials(emulator: Emulator, tokens: dict[str, Any]) -> Credentials:
    return Credentials(
        token=tokens["access_token"],
        refresh_token=tokens.get("refresh_token"),
        token_uri=f"{emulator.url('oauth2.googleapis.com')}/token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )


def youtube(emulator: Emulator, creds: Credentials, host: str = HOST) -> Resource:
    return build(
        "youtube",
        "v3",
        credentials=creds,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": f"{emulator.url(host)}/"},
    )


@pytest.fixture
def user(emulator: Emulator) -> dict[str, Any]:
    specs: list[dict[str, Any]] = [{"name": n, "size": 2, "public": True} for n in NAMES]
    specs[0] = {"name": NAMES[0], "size": 120, "description": "big one"}
    return emulator.create_user("youtube", specs, name="Faith Ful")


@pytest.fixture
def yt(emulator: Emulator, user: dict[str, Any]) -> Resource:
    return youtube(emulator, credentials(emulator, user["tokens"]))


def all_pages(collection: Any, request: Any) -> tuple[list[Any], int]:
    items: list[Any] = []
    pages = 0
    while request is not None:
        response = request.execute()
        items += response["items"]
        pages += 1
        request = collection.list_next(request, response)
    return items, pages


def test_authenticates_and_refreshes_an_expired_token(emulator: Emulator, user: dict[str, Any], yt: Resource):
    channel = yt.channels().list(part="snippet,contentDetails", mine=True).execute()
    assert [c["id"] for c in channel["items"]] == [user["user"]["id"]]
    assert channel["items"][0]["snippet"]["title"] == "Faith Ful"
    assert channel["items"][0]["contentDetails"]["relatedPlaylists"]["likes"] == "LL"

    # google-auth refreshes on 401 at the token_uri (the emulator), then repeats the call
    old = user["tokens"]["access_token"]
    emulator.admin("POST", f"/tokens/{old}/expire")
    creds = yt._http.credentials
    again = yt.channels().list(part="id", mine=True).execute()
    assert again["items"][0]["id"] == user["user"]["id"]
    assert creds.token != old and creds.token.startswith("ya29.")

    # a refresh token the emulator does not know: google-auth raises the token endpoint's answer
    bogus = credentials(emulator, {"access_token": "not-a-token", "refresh_token": "1//not-a-refresh-token"})
    with pytest.raises(RefreshError, match="invalid_grant"):
        youtube(emulator, bogus).channels().list(part="id", mine=True).execute()

    # without credentials at all the 401 reaches the caller as an HttpError
    anonymous = build(
        "youtube",
        "v3",
        http=httplib2.Http(),
        static_discovery=True,
        client_options={"api_endpoint": f"{emulator.url(HOST)}/"},
    )
    with pytest.raises(HttpError) as err:
        anonymous.channels().list(part="id", mine=True).execute()
    assert err.value.status_code == 401
    assert err.value.error_details[0]["reason"] == "authError"


def test_lists_the_users_playlists_across_pages(user: dict[str, Any], yt: Resource):
    playlists = yt.playlists()
    items, pages = all_pages(
        playlists, playlists.list(part="snippet,status,contentDetails", mine=True, maxResults=3)
    )
    assert pages == 3
    assert [p["snippet"]["title"] for p in items] == list(reversed(NAMES))
    assert {p["snippet"]["channelId"] for p in items} == {user["user"]["id"]}
    assert items[-1]["contentDetails"]["itemCount"] == 120
    assert items[-1]["status"]["privacyStatus"] == "private"
    assert items[0]["status"]["privacyStatus"] == "public"


def test_reads_a_playlists_items_across_pages(emulator: Emulator, user: dict[str, Any], yt: Resource):
    library = emulator.library("youtube", user["user"]["id"])
    big = next(p for p in library["playlists"] if p["name"] == NAMES[0])
    items_api = yt.playlistItems()
    items, pages = all_pages(
        items_api, items_api.list(part="snippet,contentDetails", playlistId=big["id"], maxResults=50)
    )
    assert pages == 3
    assert [x["contentDetails"]["videoId"] for x in items] == big["tracks"]
    assert [x["snippet"]["position"] for x in items] == list(range(120))

    liked, _ = all_pages(items_api, items_api.list(part="snippet", playlistId="LL", maxResults=50))
    assert [x["snippet"]["resourceId"]["videoId"] for x in liked] == library["liked"]


def test_search_by_text(emulator: Emulator, user: dict[str, Any], yt: Resource):
    """YouTube has no ISRC search: a video is found by artist and title."""
    library = emulator.library("youtube", user["user"]["id"])
    video_id = library["playlists"][-1]["tracks"][3]
    video = yt.videos().list(part="snippet,contentDetails", id=video_id).execute()["items"][0]
    assert video["contentDetails"]["duration"].startswith("PT")

    found = yt.search().list(part="snippet", q=video["snippet"]["title"], type="video").execute()
    assert video_id in [r["id"]["videoId"] for r in found["items"]]

    search = yt.search()
    request = search.list(part="snippet", q="love", type="video", maxResults=25)
    first = request.execute()
    second = search.list_next(request, first).execute()
    assert len(first["items"]) == len(second["items"]) == 25
    assert first["pageInfo"]["totalResults"] > 50
    assert {r["id"]["videoId"] for r in first["items"]}.isdisjoint(
        r["id"]["videoId"] for r in second["items"]
    )


def test_creates_a_playlist_and_adds_videos(emulator: Emulator, user: dict[str, Any], yt: Resource):
    created = (
        yt.playlists()
        .insert(
            part="snippet,status",
            body={
                "snippet": {"title": "Made by the Google client", "description": "via discovery"},
                "status": {"privacyStatus": "unlisted"},
            },
        )
        .execute()
    )
    assert created["kind"] == "youtube#playlist"
    assert created["snippet"]["title"] == "Made by the Google client"
    assert created["status"]["privacyStatus"] == "unlisted"

    library = emulator.library("youtube", user["user"]["id"])
    source = library["playlists"][-1]["tracks"][:3]
    for i, vid in enumerate(source):
        snippet: dict[str, Any] = {
            "playlistId": created["id"],
            "resourceId": {"kind": "youtube#video", "videoId": vid},
        }
        if i == 2:
            snippet["position"] = 0
        added = yt.playlistItems().insert(part="snippet", body={"snippet": snippet}).execute()
        assert added["snippet"]["resourceId"]["videoId"] == vid

    listed = yt.playlistItems().list(part="contentDetails", playlistId=created["id"]).execute()
    assert [x["contentDetails"]["videoId"] for x in listed["items"]] == [source[2], source[0], source[1]]
    mine = yt.playlists().list(part="snippet", mine=True, maxResults=1).execute()
    assert mine["items"][0]["id"] == created["id"] and mine["pageInfo"]["totalResults"] == 8

    with pytest.raises(HttpError) as err:
        yt.playlistItems().insert(
            part="snippet",
            body={"snippet": {"playlistId": created["id"], "resourceId": {"videoId": "xxxxxxxxxxx"}}},
        ).execute()
    assert err.value.status_code == 404 and err.value.reason == "Video not found."


def test_429_raises_http_error_without_retries(emulator: Emulator, yt: Resource):
    emulator.fault("youtube", storm_requests=1, storm_retry_after=30)
    with pytest.raises(HttpError) as err:
        yt.channels().list(part="id", mine=True).execute()
    assert err.value.status_code == 429
    assert err.value.error_details[0]["reason"] == "rateLimitExceeded"
    assert err.value.resp["retry-after"] == "30"


def test_429_is_retried_with_num_retries_ignoring_retry_after(
    emulator: Emulator, user: dict[str, Any], yt: Resource
):
    """With ``num_retries`` the client retries 429s after ``rand() * 2**n`` s; Retry-After is not read."""
    emulator.fault("youtube", storm_requests=2, storm_retry_after=30)
    request = yt.channels().list(part="id", mine=True)
    slept: list[float] = []
    request._sleep = slept.append  # the library's own seams for its retry timing
    request._rand = lambda: 0.5
    response = request.execute(num_retries=3)
    assert response["items"][0]["id"] == user["user"]["id"]
    assert slept == [1.0, 2.0]  # 0.5 * 2**1, 0.5 * 2**2: not the 30 s the server asked for
    assert emulator.calls(HOST)["GET /youtube.googleapis.com/youtube/v3/channels"] == 3


def test_daily_quota_is_a_403_that_is_not_retried(emulator: Emulator, yt: Resource):
    """YouTube's quota answer is 403 quotaExceeded: the client does not retry it, whatever num_retries."""
    emulator.admin("PUT", "/rate-limits/youtube", {"units_per_day": 1})
    yt.channels().list(part="id", mine=True).execute()
    request = yt.playlists().list(part="id", mine=True)
    request._sleep = pytest.fail  # a retry would sleep first
    with pytest.raises(HttpError) as err:
        request.execute(num_retries=3)
    assert err.value.status_code == 403
    assert err.value.error_details[0] == {
        "message": err.value.reason,
        "domain": "youtube.quota",
        "reason": "quotaExceeded",
    }
    assert emulator.calls(HOST)["GET /youtube.googleapis.com/youtube/v3/playlists"] == 1


def test_the_www_googleapis_host_works_the_same(emulator: Emulator, user: dict[str, Any]):
    yt = youtube(emulator, credentials(emulator, user["tokens"]), host="www.googleapis.com")
    mine = yt.playlists().list(part="snippet", mine=True, maxResults=50).execute()
    assert [p["snippet"]["title"] for p in mine["items"]] == list(reversed(NAMES))
    assert emulator.calls("www.googleapis.com")["GET /www.googleapis.com/youtube/v3/playlists"] == 1


def test_moves_removes_and_rates(emulator: Emulator, user: dict[str, Any], yt: Resource):
    """playlistItems.update (move), playlistItems.delete, playlists.update/delete, videos.rate/getRating."""
    library = emulator.library("youtube", user["user"]["id"])
    v = library["playlists"][-1]["tracks"][:3]
    pid = yt.playlists().insert(part="snippet", body={"snippet": {"title": "Edit me"}}).execute()["id"]
    items = [
        yt.playlistItems()
        .insert(
            part="snippet",
            body={"snippet": {"playlistId": pid, "resourceId": {"kind": "youtube#video", "videoId": vid}}},
        )
        .execute()
        for vid in v
    ]
    moved = (
        yt.playlistItems()
        .update(
            part="snippet",
            body={
                "id": items[2]["id"],
                "snippet": {
                    "playlistId": pid,
                    "resourceId": {"kind": "youtube#video", "videoId": v[2]},
                    "position": 0,
                },
            },
        )
        .execute()
    )
    assert moved["snippet"]["position"] == 0
    assert yt.playlistItems().delete(id=items[0]["id"]).execute() == ""  # 204, no body
    listed = yt.playlistItems().list(part="contentDetails", playlistId=pid).execute()
    assert [x["contentDetails"]["videoId"] for x in listed["items"]] == [v[2], v[1]]

    renamed = (
        yt.playlists()
        .update(
            part="snippet,status",
            body={"id": pid, "snippet": {"title": "Edited"}, "status": {"privacyStatus": "public"}},
        )
        .execute()
    )
    assert renamed["snippet"]["title"] == "Edited" and renamed["status"]["privacyStatus"] == "public"
    assert yt.playlists().delete(id=pid).execute() == ""
    assert yt.playlists().list(part="id", id=pid).execute()["items"] == []

    assert yt.videos().rate(id=v[0], rating="like").execute() == ""
    assert yt.videos().getRating(id=f"{v[0]},{v[1]}").execute()["items"] == [
        {"videoId": v[0], "rating": "like"},
        {"videoId": v[1], "rating": "like" if v[1] in library["liked"] else "none"},
    ]
    liked = yt.videos().list(part="id", myRating="like", maxResults=1).execute()
    assert liked["items"][0]["id"] == v[0]
