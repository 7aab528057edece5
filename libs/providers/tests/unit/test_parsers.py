"""Each adapter's parsing of provider JSON (shapes as the providers document them)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pm_providers.adapters import deezer, spotify, tidal, youtube
from pm_providers.adapters.common import largest_image, parse_release_date
from pm_providers.models import MediaType, ProviderName

SPOTIFY_TRACK = {
    "album": {"name": "Mezzanine", "id": "alb"},
    "artists": [{"name": "Massive Attack"}, {"name": "Elizabeth Fraser"}],
    "duration_ms": 330773,
    "explicit": False,
    "external_ids": {"isrc": "GBAAA9800006"},
    "id": "67Hna13dNDkZvBpTXRIaOJ",
    "is_local": False,
    "is_playable": True,
    "name": "Teardrop",
    "type": "track",
    "uri": "spotify:track:67Hna13dNDkZvBpTXRIaOJ",
}


def test_spotify_entry_prefers_item_then_track() -> None:
    new = spotify.parse_entry({"added_at": "2026-05-01T10:00:00Z", "item": SPOTIFY_TRACK, "track": None}, 3)
    old = spotify.parse_entry({"added_at": None, "track": SPOTIFY_TRACK}, 3)
    for t in (new, old):
        assert (t.id, t.title, t.isrc, t.duration_ms, t.position) == (
            "67Hna13dNDkZvBpTXRIaOJ",
            "Teardrop",
            "GBAAA9800006",
            330773,
            3,
        )
        assert t.artists == ("Massive Attack", "Elizabeth Fraser") and t.album == "Mezzanine"
        assert t.available is True and t.explicit is False
    assert new.added_at is not None and new.added_at.year == 2026
    assert old.added_at is None


def test_spotify_null_item_keeps_its_position() -> None:
    t = spotify.parse_entry({"added_at": None, "item": None, "track": None}, 7)
    assert t.media_type is MediaType.UNKNOWN and t.position == 7 and t.id is None


def test_spotify_local_file() -> None:
    local = {
        "is_local": True,
        "track": {
            "id": None,
            "uri": "spotify:local:A:B:C:200",
            "name": "C",
            "artists": [{"name": "A"}],
            "album": {"name": "B"},
            "duration_ms": 200000,
            "is_local": True,
            "type": "track",
        },
    }
    t = spotify.parse_entry(local, 0)
    assert t.is_local and t.id is None and t.uri == "spotify:local:A:B:C:200" and t.available is None


def test_spotify_query() -> None:
    assert (
        spotify.track_query("Teardrop", "Massive Attack", None, None)
        == 'track:"Teardrop" artist:"Massive Attack"'
    )
    assert spotify.track_query('Say "Hi"', None, None, "live") == 'live track:"Say  Hi"'
    assert spotify.spotify_uri("abc") == "spotify:track:abc"
    assert spotify.spotify_uri("spotify:episode:x") == "spotify:episode:x"


def test_spotify_playlist_counts_items_or_tracks() -> None:
    base = {"id": "p", "name": "N", "owner": {"id": "me"}, "snapshot_id": "s", "public": False}
    assert spotify.parse_playlist({**base, "items": {"total": 5}}, "me").track_count == 5
    old = spotify.parse_playlist({**base, "tracks": {"total": 6}}, "other")
    assert old.track_count == 6 and old.is_owner is False


def test_deezer_track_seconds_and_readable() -> None:
    t = deezer.parse_track(
        {
            "id": 3135556,
            "title": "Harder",
            "duration": 224,
            "readable": False,
            "explicit_lyrics": True,
            "artist": {"name": "Daft Punk"},
            "album": {"title": "Discovery"},
            "time_add": 1780000000,
        },
        position=2,
    )
    assert (t.id, t.duration_ms, t.available, t.explicit, t.isrc) == ("3135556", 224_000, False, True, None)
    assert t.artists == ("Daft Punk",) and t.album == "Discovery" and t.added_at is not None


def test_deezer_playlist_and_query() -> None:
    p = deezer.parse_playlist(
        {"id": 1, "title": "Loved Tracks", "is_loved_track": True, "creator": {"id": 5}}, "5"
    )
    assert p.is_liked_collection and p.is_owner
    assert (
        deezer.search_query("I Need a Dollar", "Aloe Blacc", None, None)
        == 'artist:"Aloe Blacc" track:"I Need a Dollar"'
    )


def test_tidal_item_with_included_resources() -> None:
    body: dict[str, Any] = {
        "data": [
            {
                "id": "75413016",
                "type": "tracks",
                "meta": {"itemId": "it-1", "addedAt": "2026-01-01T00:00:00Z"},
            },
            {"id": "999", "type": "tracks", "meta": {"itemId": "it-2"}},
        ],
        "included": [
            {
                "id": "75413016",
                "type": "tracks",
                "attributes": {
                    "title": "Teardrop",
                    "version": "Remastered",
                    "isrc": "GBAAA9800006",
                    "duration": "PT5M31S",
                    "explicit": False,
                    "availability": ["STREAM"],
                },
                "relationships": {
                    "artists": {"data": [{"id": "a1", "type": "artists"}]},
                    "albums": {"data": [{"id": "b1", "type": "albums"}]},
                },
            },
            {"id": "a1", "type": "artists", "attributes": {"name": "Massive Attack"}},
            {"id": "b1", "type": "albums", "attributes": {"title": "Mezzanine"}},
        ],
        "links": {"next": "/playlists/x/relationships/items?include=items&page%5Bcursor%5D=abc"},
    }
    inc = tidal.index_included(body)
    t = tidal.parse_item(body["data"][0], inc, 0)
    assert (t.title, t.isrc, t.duration_ms, t.available, t.item_id) == (
        "Teardrop (Remastered)",
        "GBAAA9800006",
        331_000,
        True,
        "it-1",
    )
    assert t.artists == ("Massive Attack",) and t.album == "Mezzanine"
    missing = tidal.parse_item(body["data"][1], inc, 1)
    assert (
        missing.media_type is MediaType.UNKNOWN and missing.available is False and missing.item_id == "it-2"
    )


def test_tidal_next_link_stays_under_the_base() -> None:
    base = "http://127.0.0.1:3199/openapi.tidal.com/v2"
    assert (
        tidal.next_link({"links": {"next": "/playlists/x?page%5Bcursor%5D=a"}}, base)
        == "/playlists/x?page%5Bcursor%5D=a"
    )
    absolute = {"links": {"next": "https://openapi.tidal.com/v2/playlists/x?page%5Bcursor%5D=a"}}
    assert tidal.next_link(absolute, base) == "/playlists/x?page%5Bcursor%5D=a"
    assert tidal.next_link({"links": {}}, base) is None


def test_youtube_items() -> None:
    ok = {
        "id": "item1",
        "snippet": {
            "title": "Song",
            "position": 4,
            "videoOwnerChannelTitle": "Artist - Topic",
            "resourceId": {"videoId": "dQw4w9WgXcQ"},
        },
        "contentDetails": {"videoId": "dQw4w9WgXcQ"},
        "status": {"privacyStatus": "public"},
    }
    t = youtube.parse_item(ok, 0, {"dQw4w9WgXcQ": 212_000})
    assert (t.id, t.item_id, t.position, t.artists, t.duration_ms, t.available) == (
        "dQw4w9WgXcQ",
        "item1",
        4,
        ("Artist",),
        212_000,
        True,
    )
    private = {
        "id": "item2",
        "snippet": {"title": "Private video", "resourceId": {"videoId": "x"}},
        "contentDetails": {"videoId": "x"},
        "status": {"privacyStatus": "private"},
    }
    assert youtube.parse_item(private, 5, {}).available is False
    assert t.provider is ProviderName.YOUTUBE


# ---- change markers, covers and release dates ------------------------------------------------------


def test_release_dates_as_the_providers_write_them() -> None:
    assert parse_release_date("1998-04-20") == date(1998, 4, 20)
    assert parse_release_date("1998-04") == date(1998, 4, 1)
    assert parse_release_date("1998") == date(1998, 1, 1)
    assert parse_release_date("1998-04-20", "year") == date(1998, 1, 1)
    assert parse_release_date("1998-04-20", "month") == date(1998, 4, 1)
    assert parse_release_date("1998-04-20", "day") == date(1998, 4, 20)
    for unknown in (None, "", "0000-00-00", "soon", 1998, "1998-13-01"):
        assert parse_release_date(unknown) is None


def test_largest_image_and_the_first_among_equals() -> None:
    sized = [
        {"url": "s", "width": 64, "height": 64},
        {"url": "l", "width": 640, "height": 640},
        {"url": "m", "width": 300, "height": 300},
    ]
    assert largest_image(sized) == "l"
    assert largest_image([{"url": "custom", "width": None, "height": None}, {"url": "x"}]) == "custom"
    assert (
        largest_image(
            [
                {"href": "a", "meta": {"width": 1, "height": 1}},
                {"href": "b", "meta": {"width": 2, "height": 2}},
            ]
        )
        == "b"
    )
    assert largest_image([]) is None
    assert largest_image([{"width": 1, "height": 1}, "junk"]) is None


def test_spotify_cover_marker_and_release_date() -> None:
    pl = spotify.parse_playlist(
        {
            "id": "p",
            "name": "N",
            "snapshot_id": "MTAsYWJj",
            "images": [
                {"url": "https://mosaic.scdn.co/60/x", "width": 60, "height": 60},
                {"url": "https://mosaic.scdn.co/640/x", "width": 640, "height": 640},
            ],
        },
        None,
    )
    assert (pl.snapshot_id, pl.image_url) == ("MTAsYWJj", "https://mosaic.scdn.co/640/x")
    uploaded = spotify.parse_playlist(
        {
            "id": "p",
            "name": "N",
            "images": [{"url": "https://i.scdn.co/image/u", "width": None, "height": None}],
        },
        None,
    )
    assert uploaded.image_url == "https://i.scdn.co/image/u"
    assert spotify.parse_playlist({"id": "p", "name": "N", "images": []}, None).image_url is None
    assert spotify.parse_track(SPOTIFY_TRACK).release_date is None  # no date in the album
    for value, precision, expected in (
        ("1998-04-20", "day", date(1998, 4, 20)),
        ("1998-04", "month", date(1998, 4, 1)),
        ("1998", "year", date(1998, 1, 1)),
    ):
        album = {"name": "Mezzanine", "release_date": value, "release_date_precision": precision}
        assert spotify.parse_track({**SPOTIFY_TRACK, "album": album}).release_date == expected


def test_deezer_cover_marker_and_release_date() -> None:
    base = {"id": 1, "title": "T", "checksum": "72e121d0678811ecf62ae5347c026468"}
    pl = deezer.parse_playlist(
        {
            **base,
            "picture_medium": "https://cdn-images.dzcdn.net/images/playlist/h/250x250-000000-80-0-0.jpg",
            "picture_big": "https://cdn-images.dzcdn.net/images/playlist/h/500x500-000000-80-0-0.jpg",
            "picture_xl": "https://cdn-images.dzcdn.net/images/playlist/h/1000x1000-000000-80-0-0.jpg",
        },
        None,
    )
    assert pl.snapshot_id == "72e121d0678811ecf62ae5347c026468"
    assert pl.image_url is not None and "1000x1000" in pl.image_url
    big = deezer.parse_playlist({**base, "picture_big": "https://x/500x500.jpg"}, None)
    assert big.image_url == "https://x/500x500.jpg"
    assert deezer.parse_playlist(base, None).image_url is None
    listed = {"id": 3135556, "title": "Harder", "album": {"title": "Discovery"}}
    assert deezer.parse_track(listed).release_date is None  # listings carry no dates
    full = {
        **listed,
        "release_date": "2001-03-07",
        "album": {"title": "Discovery", "release_date": "2001-03-12"},
    }
    assert deezer.parse_track(full).release_date == date(2001, 3, 12)  # the album's first
    assert deezer.parse_track({**full, "album": {"title": "D"}}).release_date == date(2001, 3, 7)
    assert deezer.parse_track({**listed, "release_date": "0000-00-00"}).release_date is None


def test_tidal_cover_marker_and_release_date() -> None:
    body: dict[str, Any] = {
        "data": {
            "id": "pl-1",
            "type": "playlists",
            "attributes": {"name": "N", "lastModifiedAt": "2026-05-28T20:26:40.123Z"},
            "relationships": {"coverArt": {"data": [{"id": "art1", "type": "artworks"}], "links": {}}},
        },
        "included": [
            {
                "id": "art1",
                "type": "artworks",
                "attributes": {
                    "mediaType": "IMAGE",
                    "files": [
                        {
                            "href": "https://resources.tidal.com/images/a/320x320.jpg",
                            "meta": {"width": 320, "height": 320},
                        },
                        {
                            "href": "https://resources.tidal.com/images/a/1080x1080.jpg",
                            "meta": {"width": 1080, "height": 1080},
                        },
                    ],
                },
            }
        ],
    }
    pl = tidal.parse_playlist(body["data"], tidal.index_included(body))
    assert pl.snapshot_id == "2026-05-28T20:26:40.123Z"
    assert pl.image_url == "https://resources.tidal.com/images/a/1080x1080.jpg"
    assert tidal.parse_playlist(body["data"]).image_url is None  # cover not included
    track = {
        "id": "1",
        "type": "tracks",
        "attributes": {"title": "T"},
        "relationships": {"albums": {"data": [{"id": "b1", "type": "albums"}]}},
    }
    album = {"id": "b1", "type": "albums", "attributes": {"title": "A", "releaseDate": "2001-03-12"}}
    assert tidal.parse_track(track, {("albums", "b1"): album}).release_date == date(2001, 3, 12)
    assert tidal.parse_track(track, {}).release_date is None


def test_youtube_marker_and_cover() -> None:
    res = {
        "kind": "youtube#playlist",
        "etag": "mAF5QMTRDmF18MPgmre9HzEr-v0",
        "id": "PLBCF2DAC6FFB574DE",
        "snippet": {
            "title": "Google Search Stories",
            "channelId": "UCvceBgMIpKb4zK1ss-Sh90w",
            "thumbnails": {
                "default": {
                    "url": "https://i.ytimg.com/vi/GvgqDSnpRQM/default.jpg",
                    "width": 120,
                    "height": 90,
                },
                "maxres": {
                    "url": "https://i.ytimg.com/vi/GvgqDSnpRQM/maxresdefault.jpg",
                    "width": 1280,
                    "height": 720,
                },
                "standard": {
                    "url": "https://i.ytimg.com/vi/GvgqDSnpRQM/sddefault.jpg",
                    "width": 640,
                    "height": 480,
                },
            },
        },
        "contentDetails": {"itemCount": 3},
    }
    pl = youtube.parse_playlist(res, None)
    assert pl.snapshot_id == "mAF5QMTRDmF18MPgmre9HzEr-v0"
    assert pl.image_url == "https://i.ytimg.com/vi/GvgqDSnpRQM/maxresdefault.jpg"
    assert youtube.parse_playlist({"id": "PL1", "snippet": {}}, None).image_url is None
    item = {
        "id": "i",
        "snippet": {"title": "Song", "resourceId": {"videoId": "dQw4w9WgXcQ"}},
        "contentDetails": {"videoId": "dQw4w9WgXcQ", "videoPublishedAt": "2009-10-25T06:57:33Z"},
    }
    assert youtube.parse_item(item, 0, {}).release_date is None  # an upload date is no release date
