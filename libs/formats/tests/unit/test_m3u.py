"""Extended M3U: what players write is read (EXTINF attributes, files without EXTINF, provider links), our
own files read back exactly through the #EXTPM comment lines, a reader ignoring those sees the plain view,
and any input gives items or a FormatError, lazily."""

from __future__ import annotations

import codecs
import dataclasses
import io
from collections.abc import Iterator
from datetime import UTC, timedelta, timezone
from typing import get_args

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
    m3u,
)
from pm_formats.ids import clean_isrc
from pm_formats.limits import MAX_ENTRIES
from pm_formats.m3u import read_m3u, sniff, track_link, write_m3u

from .streams import GeneratedStream

B1_EXAMPLE = b"""#EXTM3U
#PLAYLIST:Road Trip
#EXTINF:331,Massive Attack - Teardrop
Music/Massive Attack/Mezzanine/03 Teardrop.flac
#EXTINF:-1,Unknown Artist - Live Stream
https://radio.example.net/stream
"""

NASTY = [
    '"',
    "'",
    ",",
    " - ",
    "<&>",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "#",
    "#EXTINF:1,x",
    "=",
    "\ufeff",
    "\x00",
    "\x85",
    "\u2028",
    " ",
    "Ελληνικά",
    "日本語の曲",
    "عربي",
    "about:blank",
]
TEXT = (
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
    | st.sampled_from(NASTY)
    | st.lists(st.sampled_from([*NASTY, "a", "B"]), max_size=5).map("".join)
)
SPOTIFY_IDS = st.from_regex(r"[A-Za-z0-9]{22}", fullmatch=True)
YOUTUBE_IDS = st.from_regex(r"[A-Za-z0-9_-]{11}", fullmatch=True)
NUMERIC_IDS = st.from_regex(r"[1-9][0-9]{0,11}", fullmatch=True)
PROVIDER_IDS = st.fixed_dictionaries(
    {},
    optional={
        "spotify": SPOTIFY_IDS | TEXT,
        "youtube": YOUTUBE_IDS | TEXT,
        "deezer": NUMERIC_IDS | TEXT,
        "tidal": NUMERIC_IDS | TEXT,
    },
)
LOCATIONS = (
    st.none()
    | TEXT
    | st.sampled_from(
        [
            "Music/Massive Attack/03 Teardrop.flac",
            "C:\\Music\\x.mp3",
            "file:///music/te%20ar.flac",
            "https://open.spotify.com/track/0000000000000000000001",
            "spotify:track:0000000000000000000001",
            "spotify:local:Artist:Album:Title:200",
            "https://youtu.be/dQw4w9WgXcQ",
            "https://musicbrainz.org/recording/00000000-0000-4000-8000-000000000001",
            "  spaced  ",
            "#not a comment",
        ]
    )
)
DATETIMES = st.none() | st.datetimes(
    timezones=st.none() | st.just(UTC) | st.just(timezone(timedelta(hours=5, minutes=30)))
)
TRACKS = st.builds(
    FileTrack,
    title=TEXT,
    artists=st.lists(TEXT, max_size=3).map(tuple),
    album=st.none() | TEXT,
    duration_ms=st.none() | st.integers(0, 10**10),
    isrc=st.none()
    | st.from_regex(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}", fullmatch=True)
    | st.sampled_from(["gb-aaa-98-00006", "not an isrc"]),
    explicit=st.none() | st.booleans(),
    provider_ids=PROVIDER_IDS,
    location=LOCATIONS,
    mbid=st.none() | st.uuids().map(str) | TEXT,
    added_at=DATETIMES,
    media_type=st.sampled_from(get_args(MediaType)),
)
INFOS = st.builds(PlaylistInfo, name=TEXT, description=st.none() | TEXT)


def _read(data: bytes) -> list[Item]:
    return list(read_m3u(io.BytesIO(data)))


def _written(info: PlaylistInfo, tracks: list[FileTrack]) -> str:
    out = io.StringIO()
    write_m3u(info, iter(tracks), out)
    return out.getvalue()


def _without_extpm(text: str) -> str:
    """Our file as a tool that drops our comment lines keeps it (str.splitlines would split at "\x85")."""
    return "\n".join(line for line in text.split("\n") if not line.startswith("#EXTPM"))


def _entries(items: list[Item]) -> list[FileTrack]:
    return [item.track for item in items if isinstance(item, Entry)]


def _infos(items: list[Item]) -> list[PlaylistInfo]:
    return [item for item in items if isinstance(item, PlaylistInfo)]


def _kept(track: FileTrack) -> FileTrack:
    """What our own M3U keeps of a track: all of it, an ISRC only when well-formed."""
    return dataclasses.replace(track, isrc=clean_isrc(track.isrc))


# --- reading what others write ---


def test_the_b1_example_reads_as_its_playlist() -> None:
    items = _read(B1_EXAMPLE)
    assert items == [
        PlaylistStart(line=1),
        PlaylistInfo("Road Trip"),
        Entry(
            FileTrack(
                "Teardrop",
                ("Massive Attack",),
                duration_ms=331_000,
                location="Music/Massive Attack/Mezzanine/03 Teardrop.flac",
            ),
            line=3,
        ),
        Entry(
            FileTrack("Live Stream", ("Unknown Artist",), location="https://radio.example.net/stream"),
            line=5,
        ),
    ]


def test_extinf_attributes_end_at_the_first_unquoted_comma() -> None:
    data = b'#EXTM3U\n#EXTINF:200 tvg-name="A, B" group-title="x,y",Artist - Title, with comma\nsong.mp3\n'
    [track] = _entries(_read(data))
    assert (track.title, track.artists, track.duration_ms) == ("Title, with comma", ("Artist",), 200_000)


@pytest.mark.parametrize(
    ("extinf", "title", "artists", "duration_ms"),
    [
        ("#EXTINF:12.5,Only A Title", "Only A Title", (), 12_500),
        ("#EXTINF:-1,A - B - C", "B - C", ("A",), None),
        ("#EXTINF:abc,A - B", "B", ("A",), None),
        ("#EXTINF:7", "song", (), 7_000),
        ("#extinf:7, - Title", "Title", (), 7_000),
    ],
)
def test_extinf_gives_title_artist_and_duration(
    extinf: str, title: str, artists: tuple[str, ...], duration_ms: int | None
) -> None:
    [track] = _entries(_read(f"{extinf}\nsong.mp3\n".encode()))
    assert (track.title, track.artists, track.duration_ms) == (title, artists, duration_ms)


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("Music/Massive Attack/03 Teardrop.flac", "03 Teardrop"),
        ("C:\\Music\\Björk - Jóga.mp3", "Björk - Jóga"),
        ("file:///music/Tear%20drop.flac", "Tear drop"),
        ("https://radio.example.net/stream", "https://radio.example.net/stream"),
        ("no_extension", "no_extension"),
        (".hidden", ".hidden"),
    ],
)
def test_an_entry_without_extinf_is_titled_by_its_file_name_or_url(line: str, title: str) -> None:
    items = _read(f"{line}\n".encode())
    assert items == [PlaylistStart(line=1), Entry(FileTrack(title, location=line), line=1)]


@pytest.mark.parametrize(
    ("line", "provider_ids", "media_type", "mbid"),
    [
        ("spotify:track:0000000000000000000001", {"spotify": "0000000000000000000001"}, "track", None),
        ("spotify:episode:0000000000000000000001", {"spotify": "0000000000000000000001"}, "episode", None),
        (
            "https://open.spotify.com/intl-fr/track/0000000000000000000001?si=ab",
            {"spotify": "0000000000000000000001"},
            "track",
            None,
        ),
        ("spotify:local:Artist:Album:Title:200", {}, "local", None),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=10", {"youtube": "dQw4w9WgXcQ"}, "track", None),
        ("https://music.youtube.com/watch?list=x&v=dQw4w9WgXcQ", {"youtube": "dQw4w9WgXcQ"}, "track", None),
        ("https://youtu.be/dQw4w9WgXcQ", {"youtube": "dQw4w9WgXcQ"}, "track", None),
        ("https://www.deezer.com/fr/track/3135556", {"deezer": "3135556"}, "track", None),
        ("https://tidal.com/browse/track/77646168", {"tidal": "77646168"}, "track", None),
        (
            "https://musicbrainz.org/recording/00000000-0000-4000-8000-00000000000A",
            {},
            "track",
            "00000000-0000-4000-8000-00000000000a",
        ),
        ("https://open.spotify.com/track/short", {}, "track", None),
    ],
)
def test_a_provider_link_as_the_entry_line_gives_its_id_and_stays_the_location(
    line: str, provider_ids: dict[str, str], media_type: str, mbid: str | None
) -> None:
    [track] = _entries(_read(f"#EXTINF:1,A - T\n{line}\n".encode()))
    assert (track.provider_ids, track.media_type, track.mbid, track.location) == (
        provider_ids,
        media_type,
        mbid,
        line,
    )


def test_track_link_knows_nothing_of_other_urls() -> None:
    assert track_link("https://example.com/track/1") is None
    assert track_link("") is None


def test_extalb_and_extart_belong_to_the_next_entry_only() -> None:
    data = b"#EXTM3U\n#EXTART:Massive Attack\n#EXTALB:Mezzanine\n#EXTINF:1,Teardrop\na.mp3\n#EXTINF:1,Angel\nb.mp3\n"
    first, second = _entries(_read(data))
    assert (first.artists, first.album) == (("Massive Attack",), "Mezzanine")
    assert (second.artists, second.album) == ((), None)


def test_unknown_comments_and_blank_lines_are_ignored_and_without_playlist_there_is_no_info() -> None:
    data = b"#EXTM3U\n\n#EXTGRP:Rock\n#EXTIMG:cover.jpg\n# a comment\n   \n#EXTINF:1,A - T\na.mp3\n"
    items = _read(data)
    assert _infos(items) == []
    assert items[0] == PlaylistStart(line=1)
    assert [item.line for item in items if isinstance(item, Entry)] == [7]


def test_the_first_playlist_line_names_the_playlist_even_after_entries() -> None:
    items = _read(b"a.mp3\n#PLAYLIST:Late Name\n#PLAYLIST:Ignored\nb.mp3\n")
    assert [type(item).__name__ for item in items] == ["PlaylistStart", "Entry", "PlaylistInfo", "Entry"]
    assert _infos(items) == [PlaylistInfo("Late Name")]


def test_an_extinf_without_an_entry_line_is_skipped_with_its_line() -> None:
    items = _read(b"#EXTM3U\n#EXTINF:1,Lost\n#EXTINF:2,A - Found\nfound.mp3\n#EXTINF:3,At The End\n")
    assert [item for item in items if isinstance(item, Skipped)] == [
        Skipped("#EXTINF without an entry line after it", 2),
        Skipped("#EXTINF without an entry line after it", 5),
    ]
    assert [track.title for track in _entries(items)] == ["Found"]


def test_a_broken_extpm_line_is_ignored_like_any_comment() -> None:
    data = b'#EXTINF:1,A - T\n#EXTPM:{"isrc": 5, "duration_ms": true, "title": ["x"], "bad json\na.mp3\n'
    [track] = _entries(_read(data))
    assert (track.title, track.isrc, track.duration_ms) == ("T", None, 1000)
    data = (
        b'#EXTINF:1,A - T\n#EXTPM:{"added_at": "not a date", "media_type": "vinyl", "artists": [1]}\na.mp3\n'
    )
    [track] = _entries(_read(data))
    assert (track.added_at, track.media_type, track.artists) == (None, "track", ("A",))
    data = b'#EXTINF:1,A - T\n#EXTPM:{"media_type": ["track"], "provider_ids": {"deezer": 1}}\na.mp3\n'
    [track] = _entries(_read(data))
    assert (track.media_type, track.provider_ids) == ("track", {})
    deep = b"#EXTPM:" + b"[" * 100_000 + b"\na.mp3\n"
    assert _entries(_read(deep)) == [FileTrack("a", location="a.mp3")]


def test_sniff_knows_m3u_by_its_header_or_extinf_lines() -> None:
    assert sniff("#EXTM3U\n")
    assert sniff("\ufeff  #extm3u\r\n")
    assert sniff("a comment?\n#EXTINF:1,x\nx.mp3")
    assert not sniff("Music/a.mp3\nMusic/b.mp3\n")
    assert not sniff('"Track URI","Track Name"\n')
    assert not sniff('<?xml version="1.0"?><playlist/>')


# --- writing ---


def test_the_writer_writes_plain_m3u_with_comment_lines_for_the_rest() -> None:
    info = PlaylistInfo("Road Trip")
    teardrop = FileTrack(
        "Teardrop",
        ("Massive Attack",),
        album="Mezzanine",
        duration_ms=331_000,
        location="Music/03 Teardrop.flac",
    )
    assert _written(info, [teardrop]) == (
        "#EXTM3U\n#PLAYLIST:Road Trip\n#EXTINF:331,Massive Attack - Teardrop\n#EXTALB:Mezzanine\nMusic/03 Teardrop.flac\n"
    )
    text = _written(
        info, [dataclasses.replace(teardrop, duration_ms=330_773, isrc="GBAAA9800006", location=None)]
    )
    assert text.splitlines()[2:] == [
        "#EXTINF:331,Massive Attack - Teardrop",
        "#EXTALB:Mezzanine",
        '#EXTPM:{"duration_ms": 330773, "isrc": "GBAAA9800006"}',
        "about:blank",
    ]


@pytest.mark.parametrize(
    ("track", "entry_line"),
    [
        (
            FileTrack("T", provider_ids={"spotify": "0000000000000000000001"}),
            "spotify:track:0000000000000000000001",
        ),
        (
            FileTrack("T", provider_ids={"spotify": "0000000000000000000001"}, media_type="episode"),
            "spotify:episode:0000000000000000000001",
        ),
        (
            FileTrack("T", provider_ids={"youtube": "dQw4w9WgXcQ"}),
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        ),
        (FileTrack("T", provider_ids={"deezer": "3135556"}), "https://www.deezer.com/track/3135556"),
        (FileTrack("T", provider_ids={"tidal": "77646168"}), "https://tidal.com/browse/track/77646168"),
        (
            FileTrack("T", mbid="00000000-0000-4000-8000-000000000001"),
            "https://musicbrainz.org/recording/00000000-0000-4000-8000-000000000001",
        ),
        (FileTrack("T", provider_ids={"spotify": "not an id"}), "about:blank"),
        (FileTrack("T", location="# looks like a comment"), "about:blank"),
    ],
)
def test_a_track_without_a_usable_location_gets_a_uri_the_reader_maps_back(
    track: FileTrack, entry_line: str
) -> None:
    text = _written(PlaylistInfo("P"), [track])
    assert text.splitlines()[-1] == entry_line
    assert _entries(_read(text.encode())) == [track]


def test_a_reader_ignoring_our_comment_lines_sees_the_plain_view() -> None:
    info = PlaylistInfo("Two\nLines", "a description")
    track = FileTrack(
        "Title\nwith a break",
        ("Earth, Wind & Fire", "Guest"),
        album="Al\r\nbum",
        duration_ms=1_499,
        isrc="GBAAA9800006",
        explicit=True,
        mbid="00000000-0000-4000-8000-000000000001",
        location="a.mp3",
    )
    text = _written(info, [track])
    plain = _without_extpm(text)
    items = _read(plain.encode())
    assert _infos(items) == [PlaylistInfo("Two Lines")]
    assert _entries(items) == [
        FileTrack("Title with a break", ("Earth, Wind & Fire, Guest",), "Al bum", 1_000, location="a.mp3")
    ]


@settings(derandomize=True, deadline=None, max_examples=50)
@given(info=INFOS, tracks=st.lists(TRACKS, max_size=6))
def test_what_we_write_reads_back_exactly(info: PlaylistInfo, tracks: list[FileTrack]) -> None:
    text = _written(info, tracks)
    items = _read(text.encode())
    assert items[0] == PlaylistStart(line=1)
    assert _infos(items) == [info]
    assert _entries(items) == [_kept(track) for track in tracks]
    assert not [item for item in items if isinstance(item, Skipped)]


@settings(derandomize=True, deadline=None, max_examples=50)
@given(info=INFOS, tracks=st.lists(TRACKS, max_size=6))
def test_the_plain_view_keeps_every_entry_and_its_rounded_duration(
    info: PlaylistInfo, tracks: list[FileTrack]
) -> None:
    text = _written(info, tracks)
    plain = _without_extpm(text)
    read = _entries(_read(plain.encode()))
    assert len(read) == len(tracks)
    for track, plain_track in zip(tracks, read, strict=True):
        assert "\n" not in plain_track.title and "\r" not in plain_track.title
        if track.duration_ms is None:
            assert plain_track.duration_ms is None
        else:
            assert (
                plain_track.duration_ms is not None
                and abs(plain_track.duration_ms - track.duration_ms) <= 500
            )


def test_the_writer_streams_the_tracks() -> None:
    out = io.StringIO()
    written_before: list[int] = []

    def tracks() -> Iterator[FileTrack]:
        for number in range(3):
            written_before.append(out.getvalue().count("\n"))
            yield FileTrack(f"T{number}", location=f"{number}.mp3")

    write_m3u(PlaylistInfo("P"), tracks(), out)
    assert written_before == [2, 4, 6]


# --- hostile and odd input ---


def test_a_2mb_line_is_an_error_naming_it() -> None:
    data = b"#EXTM3U\n#EXTINF:1,A - T\n" + b"x" * (2 << 20) + b"\n"
    with pytest.raises(FormatError) as raised:
        _read(data)
    assert raised.value.line == 3


def test_mixed_line_endings_read_right() -> None:
    data = b"#EXTM3U\r\n#PLAYLIST:P\r#EXTINF:1,A - One\na.mp3\r\n#EXTINF:2,B - Two\rb.mp3"
    items = _read(data)
    assert _infos(items) == [PlaylistInfo("P")]
    assert [
        (item.track.title, item.track.location, item.line) for item in items if isinstance(item, Entry)
    ] == [
        ("One", "a.mp3", 3),
        ("Two", "b.mp3", 5),
    ]


@pytest.mark.parametrize(
    "data",
    [
        "#EXTM3U\n#PLAYLIST:Café\n#EXTINF:1,Björk - Jóga\nBjörk/Jóga.mp3\n".encode("utf-16"),
        codecs.BOM_UTF16_BE
        + "#EXTM3U\n#PLAYLIST:Café\n#EXTINF:1,Björk - Jóga\nBjörk/Jóga.mp3\n".encode("utf-16-be"),
        "#EXTM3U\n#PLAYLIST:Café\n#EXTINF:1,Björk - Jóga\nBjörk/Jóga.mp3\n".encode("latin-1"),
        codecs.BOM_UTF8 + "#EXTM3U\n#PLAYLIST:Café\n#EXTINF:1,Björk - Jóga\nBjörk/Jóga.mp3\n".encode(),
    ],
)
def test_utf16_latin1_and_utf8_with_bom_read_right(data: bytes) -> None:
    items = _read(data)
    assert _infos(items) == [PlaylistInfo("Café")]
    assert _entries(items) == [FileTrack("Jóga", ("Björk",), duration_ms=1000, location="Björk/Jóga.mp3")]


def test_a_binary_file_is_not_m3u() -> None:
    with pytest.raises(FormatError, match="control characters") as raised:
        _read(b"#EXTM3U\na.mp3\n\x89PNG\r\n\x1a\n\x00\x00")
    assert raised.value.line is not None
    with pytest.raises(FormatError):
        _read("#EXTM3U\na.mp3\n".encode("utf-16-le"))  # UTF-16 without its BOM


def _read_or_format_error(data: bytes) -> None:
    try:
        for item in read_m3u(io.BytesIO(data)):
            assert isinstance(item, PlaylistStart | PlaylistInfo | Entry | Skipped)
    except FormatError:
        pass


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.binary(max_size=3000))
def test_any_bytes_give_items_or_a_format_error(data: bytes) -> None:
    _read_or_format_error(data)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.text(max_size=2000))
def test_any_text_gives_items_or_a_format_error(text: str) -> None:
    _read_or_format_error(text.encode("utf-8", "surrogatepass"))


M3U_PIECES = [
    "#EXTM3U",
    "#PLAYLIST:",
    "#EXTINF:",
    "#EXTINF:-1,",
    "#EXTINF:1e9,",
    "#EXTINF:99999999999999999999,",
    '#EXTINF:1 a="b,',
    "#EXTALB:",
    "#EXTART:",
    "#EXTPM:",
    "#EXTPM-PLAYLIST:",
    '{"title": null}',
    '{"duration_ms": -5, "added_at": "2026-13-01"}',
    '{"provider_ids": {"a": 1}, "isrc": "x"}',
    '{"name": 1, "description": null}',
    "[]",
    " - ",
    ",",
    '"',
    "\n",
    "\r",
    "spotify:local:",
    "spotify:track:0000000000000000000001",
    "https://youtu.be/dQw4w9WgXcQ",
    "file:///a%ZZb.mp3",
    "about:blank",
    "a.mp3",
]


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.lists(st.sampled_from(M3U_PIECES) | st.text(max_size=5), max_size=40))
def test_m3u_like_text_gives_items_or_a_format_error(pieces: list[str]) -> None:
    _read_or_format_error("".join(pieces).encode("utf-8", "surrogatepass"))


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    info = draw(INFOS)
    tracks = draw(st.lists(TRACKS, min_size=1, max_size=3))
    data = bytearray(_written(info, tracks).encode())
    for _ in range(draw(st.integers(1, 10))):
        position = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["insert", "delete", "replace"])):
            case "insert":
                data[position:position] = draw(st.binary(min_size=1, max_size=4))
            case "delete":
                del data[position : position + draw(st.integers(1, 8))]
            case _:
                data[position : position + 1] = draw(st.binary(min_size=1, max_size=1))
    return bytes(data)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(_mutated())
def test_mutated_files_of_ours_give_items_or_a_format_error(data: bytes) -> None:
    _read_or_format_error(data)


# --- bounded memory ---


def _m3u_chunks(count: int) -> Iterator[bytes]:
    yield b"#EXTM3U\n#PLAYLIST:Big\n"
    for number in range(count):
        yield f"#EXTINF:{number % 600},Artist {number} - Title {number}\nMusic/{number}.flac\n".encode()


def test_a_100000_entry_file_is_read_lazily() -> None:
    stream = GeneratedStream(_m3u_chunks(MAX_ENTRIES))
    items = read_m3u(io.BufferedReader(stream))
    first_entry = next(item for item in items if isinstance(item, Entry))
    assert first_entry.track.title == "Title 0"
    assert stream.chunks_read < 5_000  # the rest of the file is not read yet
    assert 1 + sum(isinstance(item, Entry) for item in items) == MAX_ENTRIES


def test_more_entries_than_the_limit_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(m3u, "MAX_ENTRIES", 10)
    with pytest.raises(FormatError, match="more than 10 entries") as raised:
        list(read_m3u(io.BufferedReader(GeneratedStream(_m3u_chunks(11)))))
    assert raised.value.line == 2 + 2 * 11


def test_isrcs_are_kept_only_when_well_formed() -> None:
    assert clean_isrc("gb-aaa-98-00006") == "GBAAA9800006"
    assert clean_isrc("GBAAA980000") is None
    assert clean_isrc(None) is None
    track = FileTrack("T", isrc="us-s1z-99-00001")
    assert _entries(_read(_written(PlaylistInfo("P"), [track]).encode())) == [
        FileTrack("T", isrc="USS1Z9900001")
    ]
