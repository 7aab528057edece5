"""Spotify's account data export: Playlist1.json (tracks, episodes, local files; audiobooks and empty items
skipped; old exports without some keys) and YourLibrary.json's liked songs, read lazily."""

from __future__ import annotations

import codecs
import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_formats import (
    Entry,
    FileTrack,
    FormatError,
    Item,
    PlaylistInfo,
    PlaylistStart,
    Skipped,
    spotify_export,
)
from pm_formats.limits import MAX_ENTRIES
from pm_formats.spotify_export import (
    read_spotify_library,
    read_spotify_playlists,
    sniff,
    sniff_library,
    sniff_playlists,
)

from .streams import GeneratedStream

# providers.md B5's example, as the export writes it.
PLAYLIST1 = b"""{"playlists":[{"name":"Gym","lastModifiedDate":"2026-01-02","description":null,"numberOfFollowers":0,
  "items":[{"track":{"trackName":"Teardrop","artistName":"Massive Attack","albumName":"Mezzanine",
  "trackUri":"spotify:track:0000000000000000000001"},"episode":null,"localTrack":null,"addedDate":"2026-01-01"}]}]}"""

TEARDROP = FileTrack(
    title="Teardrop",
    artists=("Massive Attack",),
    album="Mezzanine",
    provider_ids={"spotify": "0000000000000000000001"},
    added_at=datetime(2026, 1, 1, tzinfo=UTC),
)

YOUR_LIBRARY = b"""{"tracks":[{"artist":"Massive Attack","album":"Mezzanine","track":"Teardrop",
  "uri":"spotify:track:0000000000000000000001"},{"artist":"Portishead","album":"Dummy","track":"Roads",
  "uri":"spotify:track:0000000000000000000004"}],
  "albums":[{"artist":"Massive Attack","album":"Mezzanine","uri":"spotify:album:0000000000000000000003"}],
  "shows":[],"episodes":[],"bannedTracks":[],"artists":[],"bannedArtists":[],"other":[]}"""


def _item(**members: Any) -> dict[str, Any]:
    return {
        "track": None,
        "episode": None,
        "audiobook": None,
        "localTrack": None,
        "addedDate": "2026-01-01",
    } | members


def _export(*items: Any, **playlist: Any) -> bytes:
    body = {"name": "Gym", "lastModifiedDate": "2026-01-02", "description": None, "numberOfFollowers": 0}
    return json.dumps({"playlists": [body | playlist | {"items": list(items)}]}).encode()


def _read(data: bytes) -> list[Item]:
    return list(read_spotify_playlists(io.BytesIO(data)))


def _entries(data: bytes) -> list[FileTrack | str]:
    """The entries of a one-playlist export (a Skipped as its reason)."""
    items = _read(data)
    assert isinstance(items[0], PlaylistStart) and sum(isinstance(i, PlaylistStart) for i in items) == 1
    return [i.track if isinstance(i, Entry) else i.reason for i in items if isinstance(i, Entry | Skipped)]


# --- Playlist1.json -----------------------------------------------------------------------------------------


def test_the_documented_example_reads() -> None:
    assert _read(PLAYLIST1) == [PlaylistStart(), PlaylistInfo("Gym"), Entry(TEARDROP)]


def test_several_playlists_in_file_order_with_descriptions() -> None:
    data = json.dumps(
        {
            "playlists": [
                {
                    "name": "A",
                    "description": "first <b>one</b>",
                    "items": [_item(track={"trackName": "One"})],
                },
                {"items": [_item(track={"trackName": "Two"})], "name": "B", "description": "late"},
                {"name": "C", "items": []},
            ]
        }
    ).encode()
    one, two = (FileTrack(t, added_at=datetime(2026, 1, 1, tzinfo=UTC)) for t in ("One", "Two"))
    assert _read(data) == [
        PlaylistStart(),
        PlaylistInfo("A", "first <b>one</b>"),
        Entry(one),
        PlaylistStart(),
        Entry(two),
        PlaylistInfo("B", "late"),
        PlaylistStart(),
        PlaylistInfo("C"),
    ]


def test_an_episode_is_an_entry_with_the_show_as_artist() -> None:
    episode = {
        "episodeName": "Ep. 12",
        "showName": "The Show",
        "episodeUri": "spotify:episode:0000000000000000000009",
    }
    assert _entries(_export(_item(episode=episode))) == [
        FileTrack(
            title="Ep. 12",
            artists=("The Show",),
            location="spotify:episode:0000000000000000000009",
            added_at=datetime(2026, 1, 1, tzinfo=UTC),
            media_type="episode",
        )
    ]


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (
            {"uri": "spotify:local:Massive+Attack:Mezzanine:Tear%3Adrop+%28Live%29:331"},
            FileTrack(
                "Tear:drop (Live)",
                ("Massive Attack",),
                "Mezzanine",
                duration_ms=331000,
                location="spotify:local:Massive+Attack:Mezzanine:Tear%3Adrop+%28Live%29:331",
            ),
        ),
        (
            {"uri": "spotify:local:::Untitled:"},
            FileTrack("Untitled", location="spotify:local:::Untitled:"),
        ),
        (
            {"trackName": "Home Demo", "artistName": "Me", "uri": "spotify:local:x"},
            FileTrack("Home Demo", ("Me",), location="spotify:local:x"),
        ),
        ({"trackName": "No URI"}, FileTrack("No URI")),
    ],
)
def test_a_local_file_is_an_entry_of_whatever_it_has(local: dict[str, Any], expected: FileTrack) -> None:
    [track] = _entries(_export(_item(localTrack=local)))
    assert track == FileTrack(
        title=expected.title,
        artists=expected.artists,
        album=expected.album,
        duration_ms=expected.duration_ms,
        location=expected.location,
        added_at=datetime(2026, 1, 1, tzinfo=UTC),
        media_type="local",
    )


def test_a_track_with_a_local_uri_is_a_local_file() -> None:
    [track] = _entries(
        _export(_item(track={"trackName": "Demo", "trackUri": "spotify:local:Me:Demos:Demo:60"}))
    )
    assert isinstance(track, FileTrack) and track.media_type == "local"
    assert (track.title, track.artists, track.album, track.duration_ms) == ("Demo", ("Me",), "Demos", 60000)
    assert track.provider_ids == {}


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (_item(), "an empty item"),
        ({"addedDate": "2026-01-01"}, "an empty item"),
        ({}, "an empty item"),
        (_item(audiobook={"audiobookName": "A Book", "audiobookUri": "spotify:audiobook:x"}), "an audiobook"),
        (_item(chapter={"name": "Chapter 1"}), "a kind this does not read (chapter)"),
        (_item(track={"artistName": "Nobody"}), "a track without a name or URI"),
        (_item(episode={"showName": "The Show"}), "an episode without a name or URI"),
        (_item(localTrack={"artist": "Me"}), "a local file without a name or URI"),
        (None, "not an object"),
        ("spotify:track:0000000000000000000001", "not an object"),
    ],
)
def test_audiobooks_empty_and_unknown_items_are_skipped(item: Any, reason: str) -> None:
    [skipped, next_track] = _entries(_export(item, _item(track={"trackName": "Next"})))
    assert isinstance(skipped, str) and reason in skipped and "playlist 1, item 1" in skipped
    assert isinstance(next_track, FileTrack) and next_track.title == "Next"


def test_old_exports_without_keys_are_read() -> None:
    data = b"""{"playlists":[{"name":"Old","items":[
      {"track":{"trackName":"Teardrop","artistName":"Massive Attack","trackUri":"spotify:track:0000000000000000000001"}},
      {"track":{"trackName":"Bare"}},
      {"track":{"trackUri":"spotify:track:0000000000000000000002"}, "addedDate": null}]},
      {"name":"No items"}, {}]}"""
    assert _read(data) == [
        PlaylistStart(),
        Entry(FileTrack("Teardrop", ("Massive Attack",), provider_ids={"spotify": "0000000000000000000001"})),
        Entry(FileTrack("Bare")),
        Entry(FileTrack("", provider_ids={"spotify": "0000000000000000000002"})),
        PlaylistInfo("Old"),
        PlaylistStart(),
        PlaylistInfo("No items"),
        PlaylistStart(),
        PlaylistInfo(""),
    ]


@pytest.mark.parametrize(
    ("track", "expected"),
    [
        ({"trackName": 3, "artistName": ["A"], "albumName": {}}, "a track without a name or URI"),
        (
            {"trackName": "T", "trackUri": "spotify:track:short"},
            FileTrack("T", location="spotify:track:short"),
        ),
        (
            {"trackName": "T", "trackUri": "https://open.spotify.com/track/x"},
            FileTrack("T", location="https://open.spotify.com/track/x"),
        ),
        ({"trackName": "T", "albumName": "", "artistName": ""}, FileTrack("T")),
    ],
)
def test_odd_track_fields_are_taken_as_far_as_they_make_sense(
    track: dict[str, Any], expected: FileTrack | str
) -> None:
    [taken] = _entries(_export(_item(track=track, addedDate=None)))
    if isinstance(expected, str):
        assert isinstance(taken, str) and expected in taken
    else:
        assert taken == expected


@pytest.mark.parametrize(
    ("added", "expected"),
    [
        ("2026-01-01", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T10:00:00Z", datetime(2026, 1, 1, 10, tzinfo=UTC)),
        ("01/01/2026", None),
        ("", None),
        (20260101, None),
    ],
)
def test_the_date_added_is_midnight_utc(added: Any, expected: datetime | None) -> None:
    [track] = _entries(_export(_item(track={"trackName": "T"}, addedDate=added)))
    assert isinstance(track, FileTrack) and track.added_at == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not valid JSON"),
        (b"[]", "not a Spotify playlist export"),
        (b'{"tracks": []}', 'no "playlists"'),
        (b'{"playlists": {}}', '"playlists" is not an array'),
        (b'{"playlists": [[]]}', "playlist 1 is not an object"),
        (b'{"playlists": [{"name": "A", "items": [}]}', "not valid JSON"),
        (PLAYLIST1 + b"]", "not valid JSON"),
        (PLAYLIST1.replace(b"Teardrop", b"Tear\xffdrop"), "not valid JSON"),
    ],
)
def test_files_that_are_not_a_playlist_export_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message) as error:
        _read(data)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("encoded", [codecs.BOM_UTF8 + PLAYLIST1, PLAYLIST1.decode().encode("utf-16")])
def test_a_byte_order_mark_is_read(encoded: bytes) -> None:
    assert _read(encoded) == [PlaylistStart(), PlaylistInfo("Gym"), Entry(TEARDROP)]


def test_more_than_max_entries_in_a_playlist_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spotify_export, "MAX_ENTRIES", 2)
    assert len(_entries(_export(_item(), _item()))) == 2
    with pytest.raises(FormatError, match="more than 2 items"):
        _read(_export(_item(), _item(), _item()))


# --- YourLibrary.json ---------------------------------------------------------------------------------------


def _library(data: bytes) -> list[Item]:
    return list(read_spotify_library(io.BytesIO(data)))


def test_liked_songs_are_one_playlist() -> None:
    assert _library(YOUR_LIBRARY) == [
        PlaylistStart(),
        PlaylistInfo("Liked Songs"),
        Entry(
            FileTrack(
                "Teardrop",
                ("Massive Attack",),
                "Mezzanine",
                provider_ids={"spotify": "0000000000000000000001"},
            )
        ),
        Entry(
            FileTrack("Roads", ("Portishead",), "Dummy", provider_ids={"spotify": "0000000000000000000004"})
        ),
    ]


def test_odd_liked_songs_are_skipped_or_taken_as_far_as_they_go() -> None:
    data = b"""{"albums": [], "tracks": [{"artist": "A"}, 7, {"track": "T", "uri": "spotify:local:A:B:T:5"},
      {"uri": "spotify:track:0000000000000000000001", "extra": true}]}"""
    items = _library(data)
    assert items[:2] == [PlaylistStart(), PlaylistInfo("Liked Songs")]
    no_title, not_an_object, local, liked = items[2:]
    assert isinstance(no_title, Skipped) and "liked song 1: a track without a name or URI" in no_title.reason
    assert isinstance(not_an_object, Skipped) and "liked song 2: not an object" in not_an_object.reason
    assert isinstance(local, Entry) and local.track.media_type == "local" and local.track.duration_ms == 5000
    assert isinstance(liked, Entry) and liked.track.provider_ids == {"spotify": "0000000000000000000001"}


@pytest.mark.parametrize(
    "data", [b'{"tracks": [], "albums": []}', b'{"albums": [], "shows": []}', b'{"bannedTracks": []}']
)
def test_a_library_without_liked_songs_is_an_empty_playlist(data: bytes) -> None:
    assert _library(data) == [PlaylistStart(), PlaylistInfo("Liked Songs")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not valid JSON"),
        (b"[1]", "not a Spotify library export"),
        (b"{}", "not a Spotify library export"),
        (PLAYLIST1, "not a Spotify library export"),
        (b'{"tracks": {}}', '"tracks" is not an array'),
        (YOUR_LIBRARY[:-10], "not valid JSON"),
    ],
)
def test_files_that_are_not_a_library_export_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        _library(data)


def test_more_than_max_liked_songs_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spotify_export, "MAX_ENTRIES", 1)
    with pytest.raises(FormatError, match="more than 1 liked songs"):
        _library(YOUR_LIBRARY)


# --- Streaming ----------------------------------------------------------------------------------------------


def _generated(opening: bytes, item: Any, closing: bytes) -> Iterator[bytes]:
    yield opening
    for index in range(MAX_ENTRIES):
        yield (b"," if index else b"") + json.dumps(item(index)).encode()
    yield closing


def _count(items: Iterator[Item]) -> int:
    return sum(1 for item in items if isinstance(item, Entry))


def test_a_playlist_of_max_entries_is_read_lazily() -> None:
    chunks = _generated(
        b'{"playlists": [{"name": "Big", "items": [',
        lambda i: _item(track={"trackName": f"T{i}", "trackUri": f"spotify:track:{i:022d}"}),
        b"]}]}",
    )
    assert _count(read_spotify_playlists(io.BufferedReader(GeneratedStream(chunks)))) == MAX_ENTRIES


def test_a_library_of_max_entries_is_read_lazily() -> None:
    chunks = _generated(
        b'{"tracks": [',
        lambda i: {"artist": "A", "album": "B", "track": f"T{i}", "uri": "spotify:track:x"},
        b"]}",
    )
    assert _count(read_spotify_library(io.BufferedReader(GeneratedStream(chunks)))) == MAX_ENTRIES


# --- Fuzz ---------------------------------------------------------------------------------------------------


def _read_both(data: bytes) -> None:
    for reader in (read_spotify_playlists, read_spotify_library):
        try:
            for _ in reader(io.BytesIO(data)):
                pass
        except FormatError:
            pass


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.binary(max_size=2000))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    _read_both(data)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.text(max_size=2000))
def test_fuzz_arbitrary_text(text: str) -> None:
    _read_both(text.encode("utf-8", errors="surrogatepass"))


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.sampled_from([PLAYLIST1, YOUR_LIBRARY]), st.randoms(use_true_random=False), st.integers(1, 8))
def test_fuzz_mutated_exports(data: bytes, rnd: random.Random, mutations: int) -> None:
    buffer = bytearray(data)
    for _ in range(mutations):
        position = rnd.randrange(len(buffer) + 1)
        inserted = rnd.choice([b'"', b"{", b"}", b"[", b"]", b",", b":", b"null", b"\xff", b"1.5", b"true"])
        operation = rnd.choice(["delete", "insert", "replace"])
        if operation == "delete":
            del buffer[position : position + rnd.randint(1, 8)]
        elif operation == "insert":
            buffer[position:position] = inserted
        else:
            buffer[position : position + 1] = inserted
    _read_both(bytes(buffer))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
kind_members = st.dictionaries(
    st.sampled_from(
        [
            "trackName",
            "artistName",
            "albumName",
            "trackUri",
            "episodeName",
            "showName",
            "episodeUri",
            "uri",
            "name",
        ]
    ),
    json_values | st.sampled_from(["spotify:local:a:b:c:99999999999", "spotify:local:::", "spotify:track:x"]),
)
items = st.dictionaries(
    st.sampled_from(["track", "episode", "audiobook", "localTrack", "addedDate", "other"]),
    json_values | kind_members,
)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.lists(json_values | items, max_size=5), json_values, json_values)
def test_fuzz_any_json_as_items_is_taken_or_skipped_never_an_error(
    entries: list[Any], name: Any, description: Any
) -> None:
    taken = _entries(_export(*entries, name=name, description=description))
    assert len(taken) == len(entries)
    library = _library(json.dumps({"tracks": entries}).encode())
    assert len(library) == len(entries) + 2


# --- Sniffing -----------------------------------------------------------------------------------------------


def test_sniff_knows_both_files() -> None:
    assert sniff_playlists(PLAYLIST1.decode()) and not sniff_library(PLAYLIST1.decode())
    assert sniff_library(YOUR_LIBRARY.decode()) and not sniff_playlists(YOUR_LIBRARY.decode())
    assert sniff(PLAYLIST1.decode()) and sniff(YOUR_LIBRARY.decode())


def test_sniff_knows_a_library_longer_than_the_head() -> None:
    head = YOUR_LIBRARY.decode()[:150]
    assert "albums" not in head and sniff_library("\ufeff" + head)


@pytest.mark.parametrize(
    "head",
    [
        "",
        '{"format": "playlist-manager", "version": 1, "playlists": [{"name": "P", "entries": []}]}',
        '{"playlist": {"title": "Road Trip", "track": [{"title": "Teardrop", "location": ["x"]}]}}',
        '"Track URI","Track Name","Artist URI(s)"',
        '#EXTM3U\n#EXTINF:1,"playlists": ["items":',
        '[{"tracks": [{"artist": "A", "track": "T", "uri": "u"}], "albums": []}]',
        '{"name": "x", "tracks": [{"title": "T"}]}',
    ],
)
def test_sniff_refuses_other_files(head: str) -> None:
    assert not sniff(head)
