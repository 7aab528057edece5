"""spotipy (the Spotify Web API client most Python code uses) against the emulator's api.spotify.com.

spotipy takes its base URL from ``Spotify.prefix`` and follows absolute ``next`` links as given, so
the emulator's default links (pointing at the emulator) are what it needs.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOAuth, SpotifyPKCE

from .conftest import Emulator

HOST = "api.spotify.com"
ACCOUNTS = "accounts.spotify.com"
CLIENT_ID, CLIENT_SECRET = "pm-dev-spotify", "pm-dev-spotify-secret"
SCOPE = "playlist-read-private playlist-modify-private"
NAMES = [f"Faithful {i}" for i in range(7)]


def client(emulator: Emulator, token: str, **kwargs: Any) -> spotipy.Spotify:
    sp = spotipy.Spotify(auth=token, requests_timeout=30, **kwargs)
    sp.prefix = f"{emulator.url(HOST)}/v1/"
    return sp


@pytest.fixture
def user(emulator: Emulator) -> dict[str, Any]:
    """A user with seven playlists, the first with 120 tracks (three pages of 50)."""
    specs: list[dict[str, Any]] = [{"name": n, "size": 2} for n in NAMES]
    specs[0] = {"name": NAMES[0], "size": 120, "description": "big one"}
    return emulator.create_user("spotify", specs, name="Faith Ful")


def all_pages(sp: spotipy.Spotify, page: dict[str, Any]) -> tuple[list[Any], int]:
    items, pages = list(page["items"]), 1
    while page["next"]:
        page = sp.next(page)
        items += page["items"]
        pages += 1
    return items, pages


def test_authenticates_with_an_admin_created_users_token(emulator: Emulator, user: dict[str, Any]):
    sp = client(emulator, user["tokens"]["access_token"])
    me = sp.current_user()  # spotipy asks for "me/" with a trailing slash
    assert me["id"] == user["user"]["id"]
    assert me["display_name"] == "Faith Ful"
    assert me["uri"] == f"spotify:user:{me['id']}"
    assert "account_id" in me and "email" not in me  # 2026 development-mode profile

    with pytest.raises(spotipy.SpotifyException) as err:
        client(emulator, "not-a-token").current_user()
    assert err.value.http_status == 401
    assert "Invalid access token" in err.value.msg


def consent(emulator: Emulator, authorize_url: str, user_id: str) -> str:
    """Approve the emulator's consent page as ``user_id``; the code from the redirect."""
    page = emulator.http.get(authorize_url, timeout=30)
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    fields.update({"emulator_user": user_id, "emulator_decision": "approve"})
    answer = emulator.http.post(authorize_url, data=fields, allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def test_spotify_oauth_code_flow_and_refresh(emulator: Emulator, user: dict[str, Any]):
    """spotipy's SpotifyOAuth (confidential client, Basic auth) with its URLs moved to the emulator."""
    cache = MemoryCacheHandler()
    auth = SpotifyOAuth(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri="http://127.0.0.1:8888/callback",
        scope=SCOPE,
        cache_handler=cache,
        open_browser=False,
    )
    auth.OAUTH_AUTHORIZE_URL = f"{emulator.url(ACCOUNTS)}/authorize"
    auth.OAUTH_TOKEN_URL = f"{emulator.url(ACCOUNTS)}/api/token"
    code = consent(emulator, auth.get_authorize_url(state="s1"), user["user"]["id"])
    first = auth.get_access_token(code, as_dict=False, check_cache=False)
    sp = spotipy.Spotify(auth_manager=auth)
    sp.prefix = f"{emulator.url(HOST)}/v1/"
    assert sp.current_user()["id"] == user["user"]["id"]

    # spotipy refreshes by its own clock (expires_at), before the call, not on a 401
    info = cache.get_cached_token()
    cache.save_token_to_cache({**info, "expires_at": int(time.time()) - 1})
    assert sp.current_user()["id"] == user["user"]["id"]
    assert cache.get_cached_token()["access_token"] != first
    assert cache.get_cached_token()["refresh_token"] == info["refresh_token"]  # not rotated (confidential)

    with pytest.raises(spotipy.SpotifyOauthError) as err:
        auth.get_access_token(code, as_dict=False, check_cache=False)  # codes are single-use
    assert err.value.error == "invalid_grant"


def test_spotify_pkce_public_client_flow_and_downgrade(emulator: Emulator, user: dict[str, Any]):
    """spotipy's SpotifyPKCE (client_id + S256 challenge, then code_verifier, no secret) at the strict emulator."""
    emulator.admin("POST", "/clients", {"provider": "spotify", "client_id": "pkce-only"})  # no secret: public
    redirect = "http://127.0.0.1:8888/callback"
    cache = MemoryCacheHandler()
    auth = SpotifyPKCE(
        client_id="pkce-only", redirect_uri=redirect, scope=SCOPE, cache_handler=cache, open_browser=False
    )
    auth.OAUTH_AUTHORIZE_URL = f"{emulator.url(ACCOUNTS)}/authorize"
    auth.OAUTH_TOKEN_URL = f"{emulator.url(ACCOUNTS)}/api/token"
    code = consent(emulator, auth.get_authorize_url(state="s1"), user["user"]["id"])
    auth.get_access_token(code, check_cache=False)
    sp = spotipy.Spotify(auth_manager=auth)
    sp.prefix = f"{emulator.url(HOST)}/v1/"
    assert sp.current_user()["id"] == user["user"]["id"]
    info = cache.get_cached_token()
    cache.save_token_to_cache({**info, "expires_at": int(time.time()) - 1})
    assert sp.current_user()["id"] == user["user"]["id"]
    assert cache.get_cached_token()["refresh_token"] != info["refresh_token"]  # PKCE refresh tokens rotate

    # spotipy's non-PKCE authorize URL for the public client is refused at the authorize endpoint
    no_pkce = SpotifyOAuth("pkce-only", "none", redirect, scope=SCOPE, cache_handler=MemoryCacheHandler())
    no_pkce.OAUTH_AUTHORIZE_URL = auth.OAUTH_AUTHORIZE_URL
    refused = emulator.http.get(no_pkce.get_authorize_url(state="s2"), allow_redirects=False, timeout=30)
    assert refused.status_code == 302
    assert parse_qs(urlsplit(refused.headers["Location"]).query) == {
        "error": ["invalid_request"],
        "state": ["s2"],
    }

    # a downgrade: a code issued without code_challenge (SpotifyOAuth's URL), redeemed with a code_verifier
    confidential = SpotifyOAuth(
        CLIENT_ID, CLIENT_SECRET, redirect, scope=SCOPE, cache_handler=MemoryCacheHandler()
    )
    confidential.OAUTH_AUTHORIZE_URL = auth.OAUTH_AUTHORIZE_URL
    code = consent(emulator, confidential.get_authorize_url(state="s3"), user["user"]["id"])
    pkce = SpotifyPKCE(client_id=CLIENT_ID, redirect_uri=redirect, cache_handler=MemoryCacheHandler())
    pkce.OAUTH_TOKEN_URL = auth.OAUTH_TOKEN_URL
    with pytest.raises(spotipy.SpotifyOauthError) as err:
        pkce.get_access_token(code, check_cache=False)
    assert err.value.error == "invalid_grant"


def test_client_credentials_read_the_catalog_but_not_a_profile(emulator: Emulator):
    # memory caches: spotipy's default cache handler writes a .cache file into the working directory
    auth = SpotifyClientCredentials(CLIENT_ID, CLIENT_SECRET, cache_handler=MemoryCacheHandler())
    auth.OAUTH_TOKEN_URL = f"{emulator.url(ACCOUNTS)}/api/token"
    sp = spotipy.Spotify(auth_manager=auth)
    sp.prefix = f"{emulator.url(HOST)}/v1/"
    assert sp.search(q="love", type="track", limit=3)["tracks"]["total"] > 3
    with pytest.raises(spotipy.SpotifyException) as err:
        sp.current_user()
    assert err.value.http_status == 401

    wrong = SpotifyClientCredentials(CLIENT_ID, "wrong", cache_handler=MemoryCacheHandler())
    wrong.OAUTH_TOKEN_URL = auth.OAUTH_TOKEN_URL
    with pytest.raises(spotipy.SpotifyOauthError) as oauth_err:
        wrong.get_access_token(as_dict=False)
    assert oauth_err.value.error == "invalid_client"


def test_lists_the_users_playlists_across_pages(emulator: Emulator, user: dict[str, Any]):
    sp = client(emulator, user["tokens"]["access_token"])
    first = sp.current_user_playlists(limit=3)
    assert first["total"] == 7 and first["limit"] == 3 and first["offset"] == 0
    playlists, pages = all_pages(sp, first)
    assert pages == 3
    # newest first, as the library lists them
    assert [p["name"] for p in playlists] == list(reversed(NAMES))
    assert {p["owner"]["id"] for p in playlists} == {user["user"]["id"]}
    big = playlists[-1]
    assert big["items"]["total"] == 120 and big["tracks"]["total"] == 120


def test_reads_a_playlists_items_across_pages(emulator: Emulator, user: dict[str, Any]):
    sp = client(emulator, user["tokens"]["access_token"])
    library = emulator.library("spotify", user["user"]["id"])
    big = next(p for p in library["playlists"] if p["name"] == NAMES[0])
    first = sp.playlist_items(big["id"])  # limit 50, additional_types=track,episode
    assert first["total"] == 120 and len(first["items"]) == 50
    entries, pages = all_pages(sp, first)
    assert pages == 3
    assert [x["item"]["id"] for x in entries] == big["tracks"]
    assert [x["track"]["id"] for x in entries] == big["tracks"]  # the deprecated key too

    full = sp.playlist(big["id"])
    assert full["name"] == NAMES[0] and full["description"] == "big one"
    assert len(full["items"]["items"]) == 100 and full["items"]["next"] is not None

    only = sp.playlist_items(big["id"], fields="total,items(item(id,name))", limit=2)
    assert set(only) == {"total", "items"} and set(only["items"][0]["item"]) == {"id", "name"}


def test_search_by_isrc_and_by_text(emulator: Emulator, user: dict[str, Any]):
    sp = client(emulator, user["tokens"]["access_token"])
    library = emulator.library("spotify", user["user"]["id"])
    track_id = library["playlists"][-1]["tracks"][7]
    isrc = emulator.mapping(spotify_id=track_id)["isrc"]

    by_isrc = sp.search(q=f"isrc:{isrc}", type="track")
    ids = [t["id"] for t in by_isrc["tracks"]["items"]]
    assert track_id in ids
    assert {t["external_ids"]["isrc"] for t in by_isrc["tracks"]["items"]} == {isrc}

    t = sp.track(track_id)
    query = f'track:"{t["name"]}" artist:"{t["artists"][0]["name"]}"'
    by_text = sp.search(q=query, type="track", limit=10)
    assert track_id in [x["id"] for x in by_text["tracks"]["items"]]

    # development mode (2026): at most 10 results a page; spotipy's docs still say 50
    with pytest.raises(spotipy.SpotifyException) as err:
        sp.search(q=t["artists"][0]["name"], type="track", limit=20)
    assert err.value.http_status == 400 and "Invalid limit" in err.value.msg

    page = sp.search(q="love", type="track")  # spotipy's default limit 10, the current maximum
    assert page["tracks"]["total"] > 20 and len(page["tracks"]["items"]) == 10
    second = sp.next(page["tracks"])  # the next link keeps q and type
    assert second["tracks"]["offset"] == 10 and len(second["tracks"]["items"]) == 10
    first_ids = {x["id"] for x in page["tracks"]["items"]}
    assert first_ids.isdisjoint(x["id"] for x in second["tracks"]["items"])
    for x in page["tracks"]["items"] + second["tracks"]["items"]:
        text = " ".join([x["name"], x["album"]["name"], *(a["name"] for a in x["artists"])])
        assert "love" in text.lower()


def test_creates_a_playlist_and_adds_items(emulator: Emulator, user: dict[str, Any]):
    sp = client(emulator, user["tokens"]["access_token"])
    created = sp.current_user_playlist_create("Made by spotipy", public=False, description="via the client")
    assert created["name"] == "Made by spotipy"
    assert created["public"] is False and created["description"] == "via the client"
    assert created["owner"]["id"] == user["user"]["id"]
    assert created["items"]["total"] == 0

    library = emulator.library("spotify", user["user"]["id"])
    source = library["playlists"][-1]["tracks"][:5]
    first = sp.playlist_add_items(created["id"], source[:3])  # bare ids: spotipy makes URIs
    second = sp.playlist_add_items(created["id"], [f"spotify:track:{source[3]}"], position=0)
    assert first["snapshot_id"] != second["snapshot_id"]

    items = sp.playlist_items(created["id"])
    assert [x["item"]["id"] for x in items["items"]] == [source[3], *source[:3]]
    assert {x["added_by"]["id"] for x in items["items"]} == {user["user"]["id"]}

    listed = sp.current_user_playlists(limit=1)
    assert listed["items"][0]["id"] == created["id"] and listed["total"] == 8

    with pytest.raises(spotipy.SpotifyException) as err:
        sp.playlist_add_items(created["id"], ["spotify:track:0000000000000000000000"])
    assert err.value.http_status == 400


def test_edits_a_playlist_and_the_library(emulator: Emulator, user: dict[str, Any]):
    """Details, reorder and removal by snapshot, replace, liked tracks and follows, as spotipy sends them."""
    sp = client(emulator, user["tokens"]["access_token"])
    library = emulator.library("spotify", user["user"]["id"])
    t = library["playlists"][-1]["tracks"][:6]
    pl = sp.current_user_playlist_create("Edit me", public=False)
    sp.playlist_add_items(pl["id"], t[:5])

    assert sp.playlist_change_details(pl["id"], name="Edited", description="new words") is None  # empty 200
    snap = sp.playlist_reorder_items(pl["id"], range_start=3, insert_before=0, range_length=2)["snapshot_id"]
    assert ids_of(sp, pl["id"]) == [t[3], t[4], t[0], t[1], t[2]]
    # positions of the snapshot before the removal below, whatever happens after it
    sp.playlist_remove_specific_occurrences_of_items(
        pl["id"], [{"uri": t[0], "positions": [2]}], snapshot_id=snap
    )
    sp.playlist_remove_all_occurrences_of_items(pl["id"], [t[4]])
    assert ids_of(sp, pl["id"]) == [t[3], t[1], t[2]]
    sp.playlist_replace_items(pl["id"], [t[5], t[0]])
    details = sp.playlist(pl["id"], fields="name,description,items(total)")
    assert details == {"name": "Edited", "description": "new words", "items": {"total": 2}}
    assert ids_of(sp, pl["id"]) == [t[5], t[0]]

    before = sp.current_user_saved_tracks(limit=1)["total"]
    sp.current_user_saved_tracks_add([t[0], t[1]])
    assert sp.current_user_saved_tracks_contains([t[0], t[1], t[2]]) == [True, True, False]
    assert sp.current_user_saved_tracks(limit=50)["total"] == before + 2
    sp.current_user_saved_tracks_delete([t[0]])
    assert sp.current_user_saved_tracks_contains([t[0], t[1]]) == [False, True]

    demo = emulator.library("spotify", "pmdemo.spotify")["playlists"][0]["id"]
    sp.current_user_follow_playlist(demo)
    assert sp.current_user_playlists(limit=1)["items"][0]["id"] == demo
    sp.current_user_unfollow_playlist(demo)
    assert demo not in [p["id"] for p in sp.current_user_playlists()["items"]]
    # Spotify has no deletion: the owner's unfollow only takes the playlist out of the library
    sp.current_user_unfollow_playlist(pl["id"])
    assert pl["id"] not in [p["id"] for p in sp.current_user_playlists()["items"]]
    assert sp.playlist(pl["id"], fields="name")["name"] == "Edited"
    sp.current_user_follow_playlist(pl["id"])
    assert sp.current_user_playlists(limit=1)["items"][0]["id"] == pl["id"]


def ids_of(sp: spotipy.Spotify, playlist_id: str) -> list[str]:
    return [x["item"]["id"] for x in sp.playlist_items(playlist_id)["items"]]


def test_429_is_retried_after_retry_after(emulator: Emulator, user: dict[str, Any]):
    """spotipy's urllib3 Retry (status_forcelist has 429) sleeps for Retry-After, then retries."""
    sp = client(emulator, user["tokens"]["access_token"])
    emulator.fault("spotify", storm_requests=2, storm_retry_after=1)
    started = time.monotonic()
    me = sp.current_user()
    elapsed = time.monotonic() - started
    assert me["id"] == user["user"]["id"]
    assert elapsed >= 2.0  # two answers of Retry-After: 1, each honoured
    assert emulator.calls(HOST)["GET /api.spotify.com/v1/me"] == 3


def test_429_storm_exhausts_the_retries(emulator: Emulator, user: dict[str, Any]):
    """After ``status_retries`` (3) retries spotipy raises its own 429 "Max Retries" exception."""
    sp = client(emulator, user["tokens"]["access_token"], backoff_factor=0)
    emulator.fault("spotify", storm_requests=10, storm_retry_after=0)
    with pytest.raises(spotipy.SpotifyException) as err:
        sp.current_user_playlists()
    assert err.value.http_status == 429
    assert "Max Retries" in err.value.msg
    assert emulator.calls(HOST)["GET /api.spotify.com/v1/me/playlists"] == 4


def test_429_without_retries_surfaces_the_body_and_headers(emulator: Emulator, user: dict[str, Any]):
    """With a plain session (no Retry adapter) spotipy raises at once with the body's reason."""
    sp = client(emulator, user["tokens"]["access_token"], requests_session=requests.Session())
    emulator.fault("spotify", storm_requests=1, storm_retry_after=7, storm_quota=True)
    with pytest.raises(spotipy.SpotifyException) as err:
        sp.current_user()
    assert err.value.http_status == 429
    assert err.value.reason == "QUOTA_EXCEEDED"
    assert err.value.headers["Retry-After"] == "7"
    assert "API rate limit exceeded" in err.value.msg
    assert sp.current_user()["id"] == user["user"]["id"]  # the storm is over
