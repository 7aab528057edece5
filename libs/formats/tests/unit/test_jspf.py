"""JSPF and ListenBrainz's profile of it: what we write reads back as it was, ListenBrainz's files read
with their extension understood, ``location``/``identifier`` as a string or an array, and 100,000 tracks
read one at a time."""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_formats import (
    Entry,
    FileTrack,
    FormatError,
    Item,
    MediaType,
    PlaylistInfo,
    PlaylistStart,
    Skipped,
    jspf,
)
from pm_formats.ids import clean_isrc
from pm_formats.jspf import read_jspf, sniff, write_jspf
from pm_formats.limits import MAX_ENTRIES
from pm_formats.xspf import artists_from_creator, aware, creator_from_artists, normal_mbid, uri_facts

from .streams import GeneratedStream

TEARDROP_MBID = "00000000-0000-4000-8000-000000000001"
# providers.md B3.
EXAMPLE = f"""{{"playlist": {{"title": "Road Trip", "creator": "alice", "date": "2026-05-01T10:00:00+00:00",
  "identifier": "https://listenbrainz.org/playlist/00000000-0000-4000-8000-0000000000aa",
  "extension": {{"https://musicbrainz.org/doc/jspf#playlist": {{"public": false, "creator": "alice"}}}},
  "track": [{{"title": "Teardrop", "creator": "Massive Attack", "album": "Mezzanine", "duration": 331000,
    "identifier": ["https://musicbrainz.org/recording/{TEARDROP_MBID}"],
    "extension": {{"https://musicbrainz.org/doc/jspf#track": {{"added_by": "alice",
      "added_at": "2026-05-01T10:00:00+00:00", "additional_metadata": {{"isrc": "GBAAA9800006"}}}}}}}}]}}}}"""
TEARDROP = FileTrack(
    title="Teardrop",
    artists=("Massive Attack",),
    album="Mezzanine",
    duration_ms=331000,
    isrc="GBAAA9800006",
    mbid=TEARDROP_MBID,
    added_at=datetime(2026, 5, 1, 10, tzinfo=UTC),
)
SPOTIFY_ID = "4uLU6hMCjMI75M1A2tKUQC"


def _read(data: bytes) -> list[Item]:
    return list(read_jspf(io.BytesIO(data)))


def _write(info: PlaylistInfo, tracks: Iterable[FileTrack]) -> bytes:
    out = io.StringIO()
    write_jspf(info, tracks, out)
    return out.getvalue().encode("utf-8")


def _tracks(*tracks: Any) -> list[FileTrack | str]:
    """The entries read from a playlist of ``tracks`` (a Skipped as its reason)."""
    data = json.dumps({"playlist": {"title": "P", "track": list(tracks)}}).encode()
    return [
        item.track if isinstance(item, Entry) else item.reason
        for item in _read(data)
        if isinstance(item, Entry | Skipped)
    ]


# --- Reading other writers' files ---------------------------------------------------------------------------


def test_the_documented_listenbrainz_example_reads() -> None:
    assert _read(EXAMPLE.encode()) == [PlaylistStart(), PlaylistInfo("Road Trip"), Entry(TEARDROP)]


@pytest.mark.parametrize("as_array", [False, True], ids=["string", "array"])
def test_location_and_identifier_may_be_a_string_or_an_array(as_array: bool) -> None:
    location = "file:///music/teardrop.flac"
    identifier = f"https://musicbrainz.org/recording/{TEARDROP_MBID}"
    track = {
        "title": "Teardrop",
        "location": [location] if as_array else location,
        "identifier": [identifier] if as_array else identifier,
    }
    assert _tracks(track) == [FileTrack("Teardrop", location=location, mbid=TEARDROP_MBID)]


def test_several_identifiers_say_several_ids_and_the_first_location_is_the_location() -> None:
    track = {
        "title": "T",
        "location": ["", 3, "file:///a.flac", f"spotify:track:{'1' * 22}"],
        "identifier": [
            f"https://open.spotify.com/track/{SPOTIFY_ID}",
            "https://www.deezer.com/track/3135556",
            "isrc:gb-aaa-98-00006",
            None,
        ],
    }
    assert _tracks(track) == [
        FileTrack(
            "T",
            location="file:///a.flac",
            provider_ids={"spotify": SPOTIFY_ID, "deezer": "3135556"},
            isrc="GBAAA9800006",
        )
    ]


def test_listenbrainz_artist_credits_are_preferred_to_splitting_the_creator() -> None:
    metadata = {
        "artists": [
            {"artist_credit_name": "Massive Attack", "artist_mbid": "x", "join_phrase": " feat. "},
            {"artist_credit_name": "Elizabeth Fraser", "join_phrase": ""},
            {"join_phrase": "no name"},
        ]
    }
    track = {
        "title": "Teardrop",
        "creator": "Massive Attack feat. Elizabeth Fraser",
        "extension": {"https://musicbrainz.org/doc/jspf#track": {"additional_metadata": metadata}},
    }
    assert _tracks(track) == [FileTrack("Teardrop", ("Massive Attack", "Elizabeth Fraser"))]
    assert _tracks({"title": "T", "creator": "A, B"}) == [FileTrack("T", ("A", "B"))]


def test_the_older_draft_track_list_object_is_read() -> None:
    data = b'{"playlist": {"title": "P", "trackList": {"x": 1, "track": [{"title": "T"}]}}}'
    assert _read(data) == [PlaylistStart(), PlaylistInfo("P"), Entry(FileTrack("T"))]


def test_the_title_may_come_after_the_tracks() -> None:
    data = b'{"playlist": {"annotation": "About", "track": [{"title": "T"}], "title": "Late"}}'
    assert _read(data) == [PlaylistStart(), Entry(FileTrack("T")), PlaylistInfo("Late", "About")]


def test_a_playlist_without_title_has_no_info() -> None:
    assert _read(b'{"playlist": {"track": [{"title": "T"}]}}') == [PlaylistStart(), Entry(FileTrack("T"))]


def test_unknown_members_and_extensions_are_ignored() -> None:
    data = b"""{"version": 1, "playlist": {"title": "P", "extension": {"x": [1, {"y": null}]},
      "track": [{"title": "T", "trackNum": 3, "image": "https://example.com/a.jpg", "meta": [{"x": "y"}],
        "extension": {"https://example.com/other": {"explicit": true}, "https://musicbrainz.org/doc/jspf#track": 7}}]},
      "more": [[]]}"""
    assert _read(data) == [PlaylistStart(), PlaylistInfo("P"), Entry(FileTrack("T"))]


@pytest.mark.parametrize(
    ("track", "expected"),
    [
        ({"title": "T", "duration": 331000.0}, FileTrack("T", duration_ms=331000)),
        ({"title": "T", "duration": 3.5}, FileTrack("T")),
        ({"title": "T", "duration": -1}, FileTrack("T")),
        ({"title": "T", "duration": "331000"}, FileTrack("T")),
        ({"title": "T", "duration": True}, FileTrack("T")),
        ({"title": 7, "location": "x"}, FileTrack("", location="x")),
        ({"title": "T", "album": "", "creator": 3}, FileTrack("T")),
        (
            {
                "title": "T",
                "extension": {"https://musicbrainz.org/doc/jspf#track": {"added_at": "2026-05-01"}},
            },
            FileTrack("T", added_at=datetime(2026, 5, 1, tzinfo=UTC)),
        ),
        (
            {"title": "T", "extension": {"https://musicbrainz.org/doc/jspf#track": {"added_at": "soon"}}},
            FileTrack("T"),
        ),
        (
            {"title": "T", "extension": {"https://playlist-manager.invalid/jspf#track": {"explicit": "yes"}}},
            FileTrack("T"),
        ),
        (
            {
                "title": "T",
                "extension": {
                    "https://playlist-manager.invalid/jspf#track": {
                        "media_type": "video",
                        "provider_ids": {"apple": "1", "x": 2},
                    }
                },
            },
            FileTrack("T", provider_ids={"apple": "1"}),
        ),
    ],
)
def test_members_of_the_wrong_type_are_left_out(track: dict[str, Any], expected: FileTrack) -> None:
    assert _tracks(track) == [expected]


def test_a_track_that_is_not_an_object_or_names_nothing_is_skipped_and_the_rest_goes_on() -> None:
    assert _tracks("Teardrop", None, [{"title": "x"}], {"album": "A"}, {"title": "T"}) == [
        "track 1: not an object",
        "track 2: not an object",
        "track 3: not an object",
        "track 4: no title, location or identifier",
        FileTrack("T"),
    ]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be"])
def test_a_byte_order_mark_and_utf16_are_read(encoding: str) -> None:
    data = EXAMPLE.replace("Road Trip", "Route 66 — été 東京").encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    assert _read(data) == [PlaylistStart(), PlaylistInfo("Route 66 — été 東京"), Entry(TEARDROP)]


def test_mixed_line_endings_are_read() -> None:
    data = EXAMPLE.replace("\n", "\r\n", 2).replace("\n", "\r", 2).encode()
    assert _read(data) == [PlaylistStart(), PlaylistInfo("Road Trip"), Entry(TEARDROP)]


# --- Sniffing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        EXAMPLE,
        EXAMPLE[:40],
        "\ufeff \n" + EXAMPLE,
        '{"version": [1, 2], "meta": {"a": "b"}, "playlist": {',
    ],
)
def test_sniff_knows_jspf(head: str) -> None:
    assert sniff(head)


@pytest.mark.parametrize(
    "head",
    [
        '{"playlists": [{"name": "Gym", "items": []}]}',
        '{"format": "playlist-manager", "version": 1, "playlists": [',
        '{"playlist": "Road Trip"}',
        '{"title": "' + "x" * 5000,
        '[{"playlist": {}}]',
        "#EXTM3U\n",
        '<playlist xmlns="http://xspf.org/ns/0/">',
        "",
    ],
)
def test_sniff_refuses_the_rest(head: str) -> None:
    assert not sniff(head)


# --- Refused files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not valid JSON"),
        (b"[]", "not a JSPF playlist"),
        (b'"playlist"', "not a JSPF playlist"),
        (b"{}", 'no "playlist" object'),
        (b'{"playlists": []}', 'no "playlist" object'),
        (b'{"playlist": []}', '"playlist" is not an object'),
        (b'{"playlist": {"title": "P", "track": [', "not valid JSON"),
        (b'{"playlist": {}} {}', "not valid JSON"),
        (b'{"playlist": {"title": "\xff"}}', "not valid JSON"),
        (b"<playlist/>", "not valid JSON"),
    ],
)
def test_broken_files_and_other_formats_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as raised:
        _read(data)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_more_than_max_entries_tracks_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jspf, "MAX_ENTRIES", 3)
    assert len(_tracks(*[{"title": "T"}] * 3)) == 3
    with pytest.raises(FormatError, match="more than 3 tracks"):
        _tracks(*[{"title": "T"}] * 4)


# --- Writing ------------------------------------------------------------------------------------------------


def test_the_writer_writes_listenbrainz_jspf_and_our_extras_in_our_extension() -> None:
    track = FileTrack(
        "Teardrop",
        ("Massive Attack",),
        album="Mezzanine",
        duration_ms=331000,
        isrc="GBAAA9800006",
        explicit=False,
        provider_ids={"spotify": SPOTIFY_ID, "apple": "1440"},
        location="file:///music/teardrop.flac",
        mbid=TEARDROP_MBID,
        added_at=datetime(2026, 5, 1, 10, tzinfo=UTC),
    )
    data = _write(PlaylistInfo("Road Trip", "For the car"), [track])
    assert json.loads(data) == {
        "playlist": {
            "title": "Road Trip",
            "annotation": "For the car",
            "track": [
                {
                    "title": "Teardrop",
                    "creator": "Massive Attack",
                    "album": "Mezzanine",
                    "duration": 331000,
                    "location": ["file:///music/teardrop.flac"],
                    "identifier": [
                        f"https://musicbrainz.org/recording/{TEARDROP_MBID}",
                        f"https://open.spotify.com/track/{SPOTIFY_ID}",
                    ],
                    "extension": {
                        "https://musicbrainz.org/doc/jspf#track": {
                            "added_at": "2026-05-01T10:00:00+00:00",
                            "additional_metadata": {"isrc": "GBAAA9800006"},
                        },
                        "https://playlist-manager.invalid/jspf#track": {
                            "explicit": False,
                            "provider_ids": {"apple": "1440"},
                        },
                    },
                }
            ],
        }
    }
    assert _read(data) == [PlaylistStart(), PlaylistInfo("Road Trip", "For the car"), Entry(track)]


def test_the_writer_puts_one_track_per_line() -> None:
    lines = _write(PlaylistInfo("P"), [FileTrack("A\nB"), FileTrack("C")]).decode().splitlines()
    assert lines == ['{"playlist": {"title": "P", "track": [', '{"title": "A\\nB"},', '{"title": "C"}', "]}}"]
    assert _write(PlaylistInfo("P"), []) == b'{"playlist": {"title": "P", "track": []}}\n'


def test_lone_surrogates_are_dropped_on_write() -> None:
    data = _write(PlaylistInfo("a\ud800b"), [FileTrack("c\udfffd", provider_ids={"x\ud800": "y"})])
    assert _read(data) == [
        PlaylistStart(),
        PlaylistInfo("ab"),
        Entry(FileTrack("cd", provider_ids={"x": "y"})),
    ]


def test_the_writer_writes_each_track_before_taking_the_next() -> None:
    out = io.StringIO()

    def tracks() -> Iterator[FileTrack]:
        for index in range(1000):
            # Every track taken so far is already written out.
            assert out.getvalue().count('\n{"title"') == index
            yield FileTrack(f"T{index}")

    write_jspf(PlaylistInfo("P"), tracks(), out)
    assert len(_read(out.getvalue().encode())) == 1002


# --- Round trip ---------------------------------------------------------------------------------------------

NASTY = [
    '"',
    "'",
    ",",
    "\\",
    "<&>",
    "\n",
    "\r\n",
    "\r",
    " padded ",
    "#EXTM3U",
    "=HYPERLINK()",
    "\ufeff",
    "\u2028",
    "\x00\x1f",
    "Беларусь",
    "東京",
    "🎵",
    '{"playlist": {}}',
    "]}}",
]
texts = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc"))),
    st.sampled_from(NASTY),
    st.lists(st.sampled_from(NASTY), max_size=4).map("".join),
)
artist_names = texts.filter(lambda text: ", " not in text)
locations = st.one_of(
    texts,
    st.sampled_from(
        [
            "file:///music/teardrop.flac",
            f"spotify:track:{SPOTIFY_ID}",
            f"https://open.spotify.com/episode/{SPOTIFY_ID}",
            "spotify:local:Massive+Attack:Mezzanine:Teardrop:331",
            "https://tidal.com/browse/track/77640617",
        ]
    ),
)
provider_ids = st.dictionaries(
    st.sampled_from(["spotify", "deezer", "tidal", "youtube"]) | texts,
    st.one_of(
        texts,
        st.from_regex(r"\A[0-9A-Za-z]{22}\Z"),
        st.from_regex(r"\A[0-9]{1,12}\Z"),
        st.from_regex(r"\A[A-Za-z0-9_-]{11}\Z"),
    ),
    max_size=4,
)
offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.none() | offsets
)
isrcs = st.one_of(
    st.from_regex(r"\A[A-Z]{2}[A-Z0-9]{3}[0-9]{7}\Z"),
    st.sampled_from(["gb-aaa-98-00006", " GBAAA9800006 ", "GBAAA98", ""]),
    texts,
)
tracks = st.builds(
    FileTrack,
    title=texts.filter(bool),
    artists=st.lists(artist_names, max_size=3).map(tuple),
    album=st.none() | texts,
    duration_ms=st.none() | st.integers(-5, 10**15),
    isrc=st.none() | isrcs,
    explicit=st.none() | st.booleans(),
    provider_ids=provider_ids,
    location=st.none() | locations,
    mbid=st.none() | st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper()) | texts,
    added_at=st.none() | datetimes,
    media_type=st.sampled_from(get_args(MediaType)),
)
infos = st.builds(PlaylistInfo, name=texts, description=st.none() | texts)


def kept_by_jspf(track: FileTrack) -> FileTrack:
    """What a JSPF file keeps of ``track``: every character but lone surrogates, artists as ``creator``
    splits, well-formed ids, and provider ids a location URL says too."""
    provider_ids = uri_facts([track.location] if track.location else [], []).provider_ids
    provider_ids.update(track.provider_ids)
    return FileTrack(
        title=track.title,
        artists=artists_from_creator(creator_from_artists(track.artists)),
        album=track.album or None,
        duration_ms=track.duration_ms if track.duration_ms is not None and track.duration_ms >= 0 else None,
        isrc=clean_isrc(track.isrc.strip()) if track.isrc is not None else None,
        explicit=track.explicit,
        provider_ids=provider_ids,
        location=track.location or None,
        mbid=normal_mbid(track.mbid) if track.mbid is not None else None,
        added_at=aware(track.added_at) if track.added_at is not None else None,
        media_type=track.media_type,
    )


@settings(derandomize=True, deadline=None, max_examples=50)
@given(infos, st.lists(tracks, max_size=6))
def test_written_playlists_read_back_as_jspf_keeps_them(info: PlaylistInfo, written: list[FileTrack]) -> None:
    assert _read(_write(info, iter(written))) == [
        PlaylistStart(),
        PlaylistInfo(info.name, info.description or None),
        *(Entry(kept_by_jspf(track)) for track in written),
    ]


# --- Fuzz ---------------------------------------------------------------------------------------------------


def _read_or_refuse(data: bytes) -> None:
    refusal = ""
    try:
        for item in read_jspf(io.BytesIO(data)):
            assert isinstance(item, PlaylistStart | PlaylistInfo | Entry | Skipped)
    except FormatError as error:
        refusal = str(error)
    assert "\n" not in refusal


VALID = _write(
    PlaylistInfo("Road Trip", "desc"),
    [
        TEARDROP,
        FileTrack(
            "T", ("A", "B"), explicit=True, provider_ids={"spotify": SPOTIFY_ID, "x": "y"}, location="f"
        ),
    ],
)


@st.composite
def mutations(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = draw(st.sampled_from(list(b'{}[]:,"\\-.0e\x00\xff\xc3 ')) | st.integers(0, 255))
        if action == "insert":
            data[position:position] = bytes([byte])
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 40))]
        elif position < len(data):
            data[position] = byte
    return bytes(data)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.binary(max_size=3000))
def test_any_bytes_are_read_or_refused(data: bytes) -> None:
    _read_or_refuse(data)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.text(max_size=3000))
def test_any_text_is_read_or_refused(text: str) -> None:
    _read_or_refuse(text.encode("utf-8", errors="surrogatepass"))


@settings(derandomize=True, deadline=None, max_examples=75)
@given(mutations(VALID) | mutations(EXAMPLE.encode()))
def test_mutated_files_are_read_or_refused(data: bytes) -> None:
    _read_or_refuse(data)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: (
            st.lists(children)
            | st.dictionaries(st.sampled_from(["title", "x", "track"]) | st.text(), children)
        ),
        max_leaves=30,
    )
)
def test_any_json_in_a_playlist_is_read_or_refused(value: Any) -> None:
    _read_or_refuse(
        json.dumps(
            {"playlist": {"title": value, "track": [value, {"title": "T", "location": value}]}}
        ).encode()
    )
    _read_or_refuse(json.dumps({"playlist": value}).encode())


# --- 100,000 tracks -----------------------------------------------------------------------------------------


def _generated_jspf(tracks: int) -> Iterator[bytes]:
    yield b'{"playlist": {"title": "Big", "track": ['
    for index in range(tracks):
        track = {
            "title": f"Track {index}",
            "creator": "A",
            "duration": index,
            "location": f"file:///{index}.flac",
        }
        yield (",\n" if index else "\n").encode() + json.dumps(track).encode()
    yield b"\n]}}\n"


def test_max_entries_tracks_are_read_one_at_a_time() -> None:
    stream = GeneratedStream(_generated_jspf(MAX_ENTRIES))
    items = read_jspf(io.BufferedReader(stream))
    assert next(items) == PlaylistStart()
    assert next(items) == PlaylistInfo("Big")
    assert next(items) == Entry(FileTrack("Track 0", ("A",), duration_ms=0, location="file:///0.flac"))
    assert not stream.exhausted
    entries = 1 + sum(1 for item in items if isinstance(item, Entry))
    assert entries == MAX_ENTRIES and stream.exhausted
