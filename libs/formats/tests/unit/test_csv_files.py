"""The CSV family: Exportify read in English and translated, written and read back within what it holds, safe
from formula injection; Takeout's YouTube CSVs, current, pre-2023 and localized; TuneMyMusic / Soundiiz
style CSVs by loose header names; every reader bounded in line length, lazy, and raising only FormatError."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import BinaryIO, get_args

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
    csv_files,
)
from pm_formats.csv_files import (
    EXPORTIFY_COLUMNS,
    exportify_file_name,
    read_exportify,
    read_generic_csv,
    read_takeout_music_library,
    read_takeout_playlist,
    sniff_exportify,
    sniff_generic_csv,
    sniff_takeout,
    write_exportify,
)
from pm_formats.ids import clean_isrc
from pm_formats.limits import MAX_ENTRIES
from pm_formats.m3u import is_spotify_id
from pm_formats.m3u import sniff as sniff_m3u

from .streams import GeneratedStream

Reader = Callable[[BinaryIO], Iterator[Item]]

B4_EXAMPLE = (
    b'"Track URI","Track Name","Artist URI(s)","Artist Name(s)","Album URI","Album Name","Album Artist URI(s)",'
    b'"Album Artist Name(s)","Album Release Date","Album Image URL","Disc Number","Track Number",'
    b'"Track Duration (ms)","Track Preview URL","Explicit","Popularity","ISRC","Added By","Added At"\n'
    b'"spotify:track:0000000000000000000001","Teardrop","spotify:artist:0000000000000000000002","Massive Attack",'
    b'"spotify:album:0000000000000000000003","Mezzanine","spotify:artist:0000000000000000000002","Massive Attack",'
    b'"1998-04-20","","1","3","330773","","false","0","GBAAA9800006","spotify:user:alice","2026-05-01T10:00:00Z"\n'
)
TEARDROP = FileTrack(
    "Teardrop",
    ("Massive Attack",),
    "Mezzanine",
    330_773,
    "GBAAA9800006",
    False,
    {"spotify": "0000000000000000000001"},
    added_at=datetime(2026, 5, 1, 10, tzinfo=UTC),
)
FRENCH_HEADER = [
    "URI du titre",
    "Nom du titre",
    "URI(s) de l'artiste",
    "Nom(s) de l'artiste",
    "URI de l'album",
    "Nom de l'album",
    "URI(s) de l'artiste de l'album",
    "Nom(s) de l'artiste de l'album",
    "Date de sortie de l'album",
    "URL de l'image de l'album",
    "Numéro de disque",
    "Numéro du titre",
    "Durée du titre (ms)",
    "URL de prévisualisation du titre",
    "Explicite",
    "Popularité",
    "ISRC",
    "Ajouté par",
    "Ajouté le",
]
B4_ROW = [
    "spotify:track:0000000000000000000001",
    "Teardrop",
    "spotify:artist:0000000000000000000002",
    "Massive Attack",
    "spotify:album:0000000000000000000003",
    "Mezzanine",
    "spotify:artist:0000000000000000000002",
    "Massive Attack",
    "1998-04-20",
    "",
    "1",
    "3",
    "330773",
    "",
    "false",
    "0",
    "GBAAA9800006",
    "spotify:user:alice",
    "2026-05-01T10:00:00Z",
]
TAKEOUT_VIDEOS = b"Video ID,Playlist Video Creation Timestamp\ndQw4w9WgXcQ,2026-03-01T10:00:00+00:00\n"
TAKEOUT_PRE_2023 = (
    b"Playlist Id,Channel Id,Time Created,Time Updated,Title,Description,Visibility\n"
    b"PL0000000000000000000000000000000A,UC000000000000000000000A,2019-01-01 10:00:00 UTC,"
    b"2019-02-01 10:00:00 UTC,Old Favourites,,Private\n"
    b"\n"
    b"Video Id,Time Added\n"
    b"dQw4w9WgXcQ,2019-05-04 10:00:00 UTC\n"
    b"9bZkp7q19f0,2019-05-05 10:00:00 UTC\n"
)
TAKEOUT_LIBRARY = (
    b"Video ID,Song Title,Album Title,Artist Name 1,Artist Name 2\n"
    b"dQw4w9WgXcQ,Never Gonna Give You Up,Whenever You Need Somebody,Rick Astley,\n"
    b"9bZkp7q19f0,Gangnam Style,PSY 6 (Six Rules),PSY,Guest\n"
)
TUNEMYMUSIC = (
    b"Track name,Artist name,Album,Playlist name,Type,ISRC,Spotify - id\n"
    b"Teardrop,Massive Attack,Mezzanine,Road Trip,Track,GBAAA9800006,0000000000000000000001\n"
    b"Angel,Massive Attack,Mezzanine,Road Trip,Track,,\n"
)
SOUNDIIZ = b"title;artist;album;isrc;duration\nTeardrop;Massive Attack;Mezzanine;gb-aaa-98-00006;5:31\n"


def _read(reader: Reader, data: bytes) -> list[Item]:
    return list(reader(io.BytesIO(data)))


def _entries(items: list[Item]) -> list[FileTrack]:
    return [item.track for item in items if isinstance(item, Entry)]


def _csv_bytes(*rows: list[str], quote_all: bool = True) -> bytes:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL, lineterminator="\n").writerows(
        rows
    )
    return out.getvalue().encode()


# --- Exportify: reading ---


def test_the_b4_example_reads_named_by_the_caller() -> None:
    assert _read(read_exportify, B4_EXAMPLE) == [PlaylistStart(line=1), Entry(TEARDROP, line=2)]
    assert list(read_exportify(io.BytesIO(B4_EXAMPLE), name="Road Trip")) == [
        PlaylistStart(line=1),
        PlaylistInfo("Road Trip"),
        Entry(TEARDROP, line=2),
    ]


@pytest.mark.parametrize(
    ("header", "row"),
    [
        (FRENCH_HEADER, B4_ROW),
        ([*FRENCH_HEADER, "Genres de l'artiste"], [*B4_ROW, "trip hop"]),
        (
            [
                *FRENCH_HEADER,
                "Genres de l'artiste",
                *(f"caractéristique {n}" for n in range(12)),
                "a",
                "b",
                "c",
            ],
            [*B4_ROW, "trip hop", *("0.5" for _ in range(12)), "x", "y", "z"],
        ),
    ],
)
def test_a_translated_export_is_read_by_position(header: list[str], row: list[str]) -> None:
    data = _csv_bytes(header, row)
    assert sniff_exportify(data.decode())
    assert _entries(_read(read_exportify, data)) == [TEARDROP]


def test_a_leading_playlist_name_column_names_the_playlists() -> None:
    data = _csv_bytes(
        ["Nom", *FRENCH_HEADER], ["Road Trip", *B4_ROW], ["Road Trip", *B4_ROW], ["Gym", *B4_ROW]
    )
    items = _read(read_exportify, data)
    assert [item for item in items if not isinstance(item, Entry)] == [
        PlaylistStart(line=1),
        PlaylistInfo("Road Trip"),
        PlaylistStart(line=4),
        PlaylistInfo("Gym"),
    ]
    assert _entries(items) == [TEARDROP] * 3
    english = _csv_bytes(["Name", *EXPORTIFY_COLUMNS], ["Road Trip", *B4_ROW])
    assert _read(read_exportify, english)[1] == PlaylistInfo("Road Trip")


def test_older_english_names_are_read_too() -> None:
    data = _csv_bytes(
        [
            "Spotify ID",
            "Artist IDs",
            "Track Name",
            "Album Name",
            "Artist Name(s)",
            "Duration (ms)",
            "Added At",
        ],
        [
            "0000000000000000000001",
            "x",
            "Teardrop",
            "Mezzanine",
            "Massive Attack",
            "330773",
            "2020-01-01T00:00:00Z",
        ],
    )
    assert sniff_exportify(data.decode())
    [track] = _entries(_read(read_exportify, data))
    assert (track.provider_ids, track.title, track.duration_ms) == (
        {"spotify": "0000000000000000000001"},
        "Teardrop",
        330_773,
    )


def test_artists_split_at_comma_space_but_not_at_an_escaped_comma() -> None:
    row = [*B4_ROW]
    row[3] = "Earth\\, Wind & Fire, Guest, Crosby\\, Stills & Nash"
    [track] = _entries(_read(read_exportify, _csv_bytes(list(EXPORTIFY_COLUMNS), row)))
    assert track.artists == ("Earth, Wind & Fire", "Guest", "Crosby, Stills & Nash")


def test_local_files_and_episodes_keep_what_their_uri_says() -> None:
    local, episode = [*B4_ROW], [*B4_ROW]
    local[0] = "spotify:local:Artist:Album:Title:200"
    episode[0] = "spotify:episode:0000000000000000000009"
    first, second = _entries(_read(read_exportify, _csv_bytes(list(EXPORTIFY_COLUMNS), local, episode)))
    assert (first.media_type, first.location, first.provider_ids) == ("local", local[0], {})
    assert (second.media_type, second.provider_ids) == ("episode", {"spotify": "0000000000000000000009"})


def test_odd_cells_are_dropped_not_errors_and_empty_rows_are_skipped_with_their_line() -> None:
    row = [*B4_ROW]
    row[12], row[14], row[16], row[18] = "3:45", "maybe", "GB-AAA", "yesterday"
    empty = [""] * 19
    empty[3] = "Artist only"
    items = _read(read_exportify, _csv_bytes(list(EXPORTIFY_COLUMNS), row, empty, [""] * 19, row))
    [first, _] = _entries(items)
    assert (first.duration_ms, first.explicit, first.isrc, first.added_at) == (None, None, None, None)
    assert [item for item in items if isinstance(item, Skipped)] == [
        Skipped("a row with neither a track name nor a track URI", 3)
    ]
    assert [item.line for item in items if isinstance(item, Entry)] == [2, 5]


def test_a_quoted_field_spans_lines_and_line_numbers_follow() -> None:
    row = [*B4_ROW]
    row[1] = "Two\r\nLines"
    items = _read(read_exportify, _csv_bytes(list(EXPORTIFY_COLUMNS), row, B4_ROW))
    assert [(item.track.title, item.line) for item in items if isinstance(item, Entry)] == [
        ("Two\nLines", 2),
        ("Teardrop", 4),
    ]


@pytest.mark.parametrize(
    "data",
    [b"", b"\n\n", b'"a","b","c"\n"1","2","3"\n', b"Track name,Artist\nx,y\n", TAKEOUT_VIDEOS],
)
def test_a_file_that_is_not_exportify_is_an_error(data: bytes) -> None:
    with pytest.raises(FormatError):
        _read(read_exportify, data)


def test_sniff_exportify() -> None:
    assert sniff_exportify(B4_EXAMPLE.decode())
    assert sniff_exportify("\ufeff" + B4_EXAMPLE.decode()[:300])
    assert sniff_exportify(_csv_bytes(FRENCH_HEADER).decode())
    assert not sniff_exportify(_csv_bytes(FRENCH_HEADER, ["not a uri", *B4_ROW[1:]]).decode())
    assert not sniff_exportify(TUNEMYMUSIC.decode())
    assert not sniff_exportify(TAKEOUT_VIDEOS.decode())
    assert not sniff_exportify("#EXTM3U\n")
    assert not sniff_exportify("")


def test_exportify_file_names_follow_exportify() -> None:
    assert exportify_file_name("Road Trip") == "road_trip.csv"
    assert exportify_file_name('A/B\\C: "D" | E?*. [F]') == "a_b_c_d_e_f_.csv"
    assert exportify_file_name("Café Ünïcode") == "café_ünïcode.csv"
    assert exportify_file_name("") == "playlist.csv"
    assert exportify_file_name("...") == "_.csv"
    assert len(exportify_file_name("x" * 1000)) == 204


# --- Exportify: writing and formula injection ---


def _exportify_text(tracks: list[FileTrack], info: PlaylistInfo | None = None) -> str:
    out = io.StringIO()
    write_exportify(info or PlaylistInfo("P"), iter(tracks), out)
    return out.getvalue()


def test_the_writer_quotes_every_field_in_exportify_columns() -> None:
    text = _exportify_text([TEARDROP])
    header, row = text.splitlines()
    assert header == ",".join(f'"{name}"' for name in EXPORTIFY_COLUMNS)
    assert row == (
        '"spotify:track:0000000000000000000001","Teardrop","","Massive Attack","","Mezzanine","","","","","","",'
        '"330773","","false","","GBAAA9800006","","2026-05-01T10:00:00Z"'
    )
    assert _entries(_read(read_exportify, text.encode())) == [TEARDROP]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t"])
def test_a_cell_that_could_run_as_a_formula_is_quoted_and_read_back(start: str) -> None:
    value = start + 'HYPERLINK("http://evil.example")'
    track = FileTrack(value, (value,), album=value)
    text = _exportify_text([track])
    row = next(csv.reader(io.StringIO(text.split("\n", 1)[1])))
    assert row[1] == row[3] == row[5] == "'" + value
    assert _entries(_read(read_exportify, text.encode())) == [track]


def test_a_carriage_return_at_the_start_is_written_as_a_line_break_so_needs_no_quote() -> None:
    text = _exportify_text([FileTrack("\r=x")])
    assert next(csv.reader(io.StringIO(text.split("\n", 1)[1])))[1] == "\n=x"
    assert _entries(_read(read_exportify, text.encode()))[0].title == "\n=x"


@pytest.mark.parametrize(
    ("title", "cell"),
    [("'=x", "''=x"), ("''-1", "'''-1"), ("'quoted", "'quoted"), ("x=1", "x=1"), ("", "")],
)
def test_cells_already_starting_with_quotes_round_trip(title: str, cell: str) -> None:
    text = _exportify_text([FileTrack(title, provider_ids={"spotify": "0000000000000000000001"})])
    assert next(csv.reader(io.StringIO(text.splitlines()[1])))[1] == cell
    assert _entries(_read(read_exportify, text.encode()))[0].title == title


def test_a_real_exportify_cell_starting_with_a_quote_is_left_alone() -> None:
    row = [*B4_ROW]
    row[1] = "'Round Midnight"
    [track] = _entries(_read(read_exportify, _csv_bytes(list(EXPORTIFY_COLUMNS), row)))
    assert track.title == "'Round Midnight"


NASTY = [
    '"',
    '""',
    "'",
    "'=",
    ",",
    ", ",
    "\\,",
    "<&>",
    "\n",
    "\r\n",
    "\r",
    "\t",
    "#",
    "=",
    "+",
    "-",
    "@",
    "\ufeff",
    "\x85",
    "\u2028",
    " ",
    ";",
    "Ελληνικά",
    "日本語の曲",
    "عربي",
]
TEXT = (
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
    | st.sampled_from(NASTY)
    | st.lists(st.sampled_from([*NASTY, "a", "B"]), max_size=5).map("".join)
)
DATETIMES = st.none() | st.datetimes(
    timezones=st.none() | st.just(UTC) | st.just(timezone(timedelta(hours=-3, minutes=-30)))
)
TRACKS = st.builds(
    FileTrack,
    title=TEXT,
    # An artist name ending in "\" before the next one's ", " cannot be told apart (Exportify escapes "," only).
    artists=st.lists(TEXT.filter(lambda name: not name.endswith("\\")), max_size=3).map(tuple),
    album=st.none() | TEXT,
    duration_ms=st.none() | st.integers(0, 10**12),
    isrc=st.none()
    | st.from_regex(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}", fullmatch=True)
    | st.sampled_from(["gb-aaa-98-00006", "bad"]),
    explicit=st.none() | st.booleans(),
    provider_ids=st.fixed_dictionaries(
        {},
        optional={
            "spotify": st.from_regex(r"[A-Za-z0-9]{22}", fullmatch=True) | TEXT,
            "deezer": st.from_regex(r"[0-9]{1,10}", fullmatch=True),
        },
    ),
    location=st.none() | TEXT | st.sampled_from(["spotify:local:A:B:C:1", "spotify:local:x\r\ny ", "a.mp3"]),
    mbid=st.none() | st.uuids().map(str),
    added_at=DATETIMES,
    media_type=st.sampled_from(get_args(MediaType)),
)


def _lines_as_csv_gives(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _exportify_kept(track: FileTrack) -> FileTrack:
    """What an Exportify CSV keeps of a track: line breaks as "\\n", Spotify's id (or a local URI), the
    well-formed ISRC; no location, mbid, other ids or empty artist names."""
    spotify_id = track.provider_ids.get("spotify", "")
    location = None
    provider_ids: dict[str, str] = {}
    media_type: MediaType = "track"
    if track.media_type == "local" and track.location and track.location.startswith("spotify:local:"):
        location, media_type = _lines_as_csv_gives(track.location).strip(), "local"
    elif is_spotify_id(spotify_id):
        provider_ids = {"spotify": spotify_id}
        media_type = "episode" if track.media_type == "episode" else "track"
    return FileTrack(
        title=_lines_as_csv_gives(track.title),
        artists=tuple(_lines_as_csv_gives(name) for name in track.artists if name),
        album=_lines_as_csv_gives(track.album) if track.album else None,
        duration_ms=track.duration_ms,
        isrc=clean_isrc(track.isrc),
        explicit=track.explicit,
        provider_ids=provider_ids,
        location=location,
        added_at=track.added_at,
        media_type=media_type,
    )


@settings(derandomize=True, deadline=None, max_examples=50)
@given(tracks=st.lists(TRACKS, max_size=6), name=TEXT)
def test_what_we_write_reads_back_within_what_exportify_keeps(tracks: list[FileTrack], name: str) -> None:
    text = _exportify_text(tracks)
    items = list(read_exportify(io.BytesIO(text.encode()), name=name))
    assert items[:2] == [PlaylistStart(line=1), PlaylistInfo(name)]
    kept = [_exportify_kept(track) for track in tracks]
    # A row with neither a title nor a URI is not an entry (Skipped, or blank and ignored).
    expected = [
        track for track in kept if track.title.strip() or track.provider_ids or track.media_type == "local"
    ]
    assert _entries(items) == expected


def test_the_writer_streams_the_tracks() -> None:
    out = io.StringIO()
    written_before: list[int] = []

    def tracks() -> Iterator[FileTrack]:
        for number in range(3):
            written_before.append(out.getvalue().count("\n"))
            yield FileTrack(f"T{number}")

    write_exportify(PlaylistInfo("P"), tracks(), out)
    assert written_before == [1, 2, 3]


# --- Google Takeout ---


def test_a_takeout_playlist_gives_video_ids_and_times_added() -> None:
    assert _read(read_takeout_playlist, TAKEOUT_VIDEOS) == [
        PlaylistStart(line=1),
        Entry(
            FileTrack(
                "dQw4w9WgXcQ",
                provider_ids={"youtube": "dQw4w9WgXcQ"},
                added_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
            ),
            line=2,
        ),
    ]
    items = list(read_takeout_playlist(io.BytesIO(TAKEOUT_VIDEOS), name="Liked videos"))
    assert items[1] == PlaylistInfo("Liked videos")


def test_invalid_video_ids_are_skipped_with_their_line() -> None:
    data = TAKEOUT_VIDEOS + b"too-short,2026-03-01T10:00:00+00:00\n\n,2026\n9bZkp7q19f0,\n"
    items = _read(read_takeout_playlist, data)
    assert [item for item in items if isinstance(item, Skipped)] == [
        Skipped("not a YouTube video id: 'too-short'", 3),
        Skipped("not a YouTube video id: ''", 5),
    ]
    assert [(track.title, track.added_at is None) for track in _entries(items)] == [
        ("dQw4w9WgXcQ", False),
        ("9bZkp7q19f0", True),
    ]


def test_a_pre_2023_playlist_with_its_metadata_block() -> None:
    items = _read(read_takeout_playlist, TAKEOUT_PRE_2023)
    assert items[:2] == [PlaylistStart(line=1), PlaylistInfo("Old Favourites")]
    assert [
        (item.track.title, item.track.added_at, item.line) for item in items if isinstance(item, Entry)
    ] == [
        ("dQw4w9WgXcQ", datetime(2019, 5, 4, 10, tzinfo=UTC), 5),
        ("9bZkp7q19f0", datetime(2019, 5, 5, 10, tzinfo=UTC), 6),
    ]
    assert list(read_takeout_playlist(io.BytesIO(TAKEOUT_PRE_2023), name="Mine"))[1] == PlaylistInfo("Mine")


@pytest.mark.parametrize(
    "header",
    [
        "ID do vídeo,Carimbo de data/hora de criação do vídeo na playlist",
        "動画 ID,再生リストへの動画の追加日時",
        "Zeitstempel,Video-ID",
    ],
)
def test_localized_headers_are_matched_loosely(header: str) -> None:
    rows = ["dQw4w9WgXcQ,2026-03-01T10:00:00+00:00", "9bZkp7q19f0,2026-03-02T10:00:00+00:00"]
    if header.startswith("Zeitstempel"):
        rows = [",".join(reversed(row.split(","))) for row in rows]
    data = "\n".join([header, *rows, ""]).encode()
    assert sniff_takeout(data.decode())
    tracks = _entries(_read(read_takeout_playlist, data))
    assert [(track.title, track.added_at) for track in tracks] == [
        ("dQw4w9WgXcQ", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("9bZkp7q19f0", datetime(2026, 3, 2, 10, tzinfo=UTC)),
    ]


def test_a_file_without_a_column_of_video_ids_is_an_error() -> None:
    with pytest.raises(FormatError, match="no column of YouTube video ids") as raised:
        _read(read_takeout_playlist, b"a,b\nx,y\n")
    assert raised.value.line == 1
    with pytest.raises(FormatError):
        _read(read_takeout_playlist, b"")


def test_the_music_library_gives_songs_with_titles_albums_and_artists() -> None:
    items = _read(read_takeout_music_library, TAKEOUT_LIBRARY + b"not-an-id,x,y,z\n")
    assert items == [
        PlaylistStart(line=1),
        Entry(
            FileTrack(
                "Never Gonna Give You Up",
                ("Rick Astley",),
                "Whenever You Need Somebody",
                provider_ids={"youtube": "dQw4w9WgXcQ"},
            ),
            line=2,
        ),
        Entry(
            FileTrack(
                "Gangnam Style",
                ("PSY", "Guest"),
                "PSY 6 (Six Rules)",
                provider_ids={"youtube": "9bZkp7q19f0"},
            ),
            line=3,
        ),
        Skipped("not a YouTube video id: 'not-an-id'", 4),
    ]


def test_a_localized_music_library_is_read_by_position() -> None:
    data = (
        "ID do vídeo,Título da música,Título do álbum,Nome do artista 1\ndQw4w9WgXcQ,Canção,Álbum,Artista\n"
    )
    [track] = _entries(_read(read_takeout_music_library, data.encode()))
    assert (track.title, track.album, track.artists) == ("Canção", "Álbum", ("Artista",))


# --- TuneMyMusic / Soundiiz ---


def test_a_tunemymusic_csv_gives_its_playlist() -> None:
    items = _read(read_generic_csv, TUNEMYMUSIC)
    assert items == [
        PlaylistStart(line=1),
        PlaylistInfo("Road Trip"),
        Entry(
            FileTrack(
                "Teardrop",
                ("Massive Attack",),
                "Mezzanine",
                isrc="GBAAA9800006",
                provider_ids={"spotify": "0000000000000000000001"},
            ),
            line=2,
        ),
        Entry(FileTrack("Angel", ("Massive Attack",), "Mezzanine"), line=3),
    ]


def test_a_soundiiz_csv_with_semicolons() -> None:
    [track] = _entries(_read(read_generic_csv, SOUNDIIZ))
    assert track == FileTrack("Teardrop", ("Massive Attack",), "Mezzanine", 331_000, "GBAAA9800006")


def test_a_change_of_playlist_name_starts_the_next_playlist_and_name_is_the_fallback() -> None:
    data = b"Playlist,Song,Artist\nA,one,x\nA,two,x\nB,three,y\n"
    items = list(read_generic_csv(io.BytesIO(data), name="Given"))
    # The column names every playlist, the first too (a TuneMyMusic export of several playlists).
    assert [item for item in items if not isinstance(item, Entry)] == [
        PlaylistStart(line=1),
        PlaylistInfo("A"),
        PlaylistStart(line=4),
        PlaylistInfo("B"),
    ]
    # Where the column is empty at first, the file's name stands in until it names one.
    data = b"Playlist,Song,Artist\n,one,x\nA,two,x\n"
    items = list(read_generic_csv(io.BytesIO(data), name="Given"))
    assert [item for item in items if not isinstance(item, Entry)] == [
        PlaylistStart(line=1),
        PlaylistInfo("Given"),
        PlaylistInfo("A"),
    ]
    data = b"Song,Artist\none,x\n"
    items = list(read_generic_csv(io.BytesIO(data), name="Given"))
    assert [item for item in items if not isinstance(item, Entry)] == [
        PlaylistStart(line=1),
        PlaylistInfo("Given"),
    ]
    data = b"Song,Artist\none,x\n"
    assert _read(read_generic_csv, data)[:2] == [
        PlaylistStart(line=1),
        Entry(FileTrack("one", ("x",)), line=2),
    ]


@pytest.mark.parametrize(
    ("header", "value", "duration_ms"),
    [
        ("Duration", "5:31", 331_000),
        ("Duration", "1:02:03", 3_723_000),
        ("Duration", "331", 331_000),
        ("Duration", "330773", 330_773),
        ("Duration (ms)", "331", 331),
        ("duration_ms", "330773.0", 330_773),
        ("Duration (s)", "330.773", 330_773),
        ("Length", "soon", None),
    ],
)
def test_durations_in_their_units(header: str, value: str, duration_ms: int | None) -> None:
    data = f"Title,Artist,{header}\nT,A,{value}\n".encode()
    assert _entries(_read(read_generic_csv, data))[0].duration_ms == duration_ms


def test_provider_columns_take_ids_uris_and_urls_and_link_columns_are_locations() -> None:
    data = (
        b"Song,Artists,Spotify URI,Deezer URL,TIDAL ID,YouTube,Explicit,URL\n"
        b'T,"A, B\\, C",spotify:track:0000000000000000000001,https://www.deezer.com/track/3135556,77646168,'
        b"https://youtu.be/dQw4w9WgXcQ,yes,https://musicbrainz.org/recording/00000000-0000-4000-8000-000000000001\n"
        b"U,,not an id,,x,,no,Music/u.flac\n"
    )
    first, second = _entries(_read(read_generic_csv, data))
    assert first == FileTrack(
        "T",
        ("A", "B, C"),
        explicit=True,
        provider_ids={
            "spotify": "0000000000000000000001",
            "deezer": "3135556",
            "tidal": "77646168",
            "youtube": "dQw4w9WgXcQ",
        },
        location="https://musicbrainz.org/recording/00000000-0000-4000-8000-000000000001",
        mbid="00000000-0000-4000-8000-000000000001",
    )
    assert second == FileTrack("U", explicit=False, location="Music/u.flac")


def test_rows_without_a_title_are_skipped_and_a_header_without_one_is_an_error() -> None:
    items = _read(read_generic_csv, b"Title,Artist\n,Nobody\n  ,x\nT,A\n")
    assert [item for item in items if isinstance(item, Skipped)] == [
        Skipped("a row without a track title", 2),
        Skipped("a row without a track title", 3),
    ]
    with pytest.raises(FormatError, match="no column of track titles") as raised:
        _read(read_generic_csv, b"\n\nArtist,Album\nx,y\n")
    assert raised.value.line == 3


FIXTURES = {
    "exportify": B4_EXAMPLE,
    "takeout playlist": TAKEOUT_VIDEOS,
    "takeout pre-2023": TAKEOUT_PRE_2023,
    "takeout library": TAKEOUT_LIBRARY,
    "tunemymusic": TUNEMYMUSIC,
    "soundiiz": SOUNDIIZ,
    "m3u": b"#EXTM3U\n#EXTINF:1,A - T\na.mp3\n",
}


@pytest.mark.parametrize("kind", FIXTURES)
def test_each_fixture_is_sniffed_as_its_own_format_only(kind: str) -> None:
    head = FIXTURES[kind].decode()
    sniffed = {
        "exportify": sniff_exportify(head),
        "takeout": sniff_takeout(head),
        "generic": sniff_generic_csv(head),
        "m3u": sniff_m3u(head),
    }
    own = {"tunemymusic": "generic", "soundiiz": "generic"}.get(kind, kind.split()[0])
    assert sniffed == {name: name == own for name in sniffed}


# --- every reader: encodings, line endings, hostile input, laziness ---

READERS: dict[str, tuple[Reader, bytes]] = {
    "exportify": (read_exportify, B4_EXAMPLE),
    "takeout playlist": (read_takeout_playlist, TAKEOUT_VIDEOS),
    "takeout library": (read_takeout_music_library, TAKEOUT_LIBRARY),
    "generic": (read_generic_csv, TUNEMYMUSIC),
}


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-16"),
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        lambda text: codecs.BOM_UTF8 + text.encode(),
        lambda text: text.encode("latin-1"),
    ],
    ids=["utf-16-le", "utf-16-be", "utf-8-bom", "latin-1"],
)
def test_other_encodings_read_the_same(kind: str, encode: Callable[[str], bytes]) -> None:
    reader, data = READERS[kind]
    accented = data.decode().replace("Teardrop", "Téardrop").replace("Never", "Névér")
    assert _read(reader, encode(accented)) == _read(reader, accented.encode())


@pytest.mark.parametrize("kind", READERS)
def test_mixed_line_endings_read_right(kind: str) -> None:
    reader, data = READERS[kind]
    doubled = data + data.split(b"\n", 1)[1]
    lines = doubled.decode().split("\n")
    endings = ["\r\n", "\r", "\n"]
    mixed = "".join(line + endings[number % 3] for number, line in enumerate(lines[:-1])).encode()
    assert _read(reader, mixed) == _read(reader, doubled)


@pytest.mark.parametrize("kind", READERS)
def test_a_2mb_line_is_an_error_naming_it(kind: str) -> None:
    reader, data = READERS[kind]
    with pytest.raises(FormatError) as raised:
        _read(reader, data + b'"' + b"x" * (2 << 20) + b'",y\n')
    assert raised.value.line == data.count(b"\n") + 1


@pytest.mark.parametrize("kind", READERS)
def test_a_field_past_the_csv_limit_is_an_error_and_the_limit_stays_as_it_was(kind: str) -> None:
    reader, data = READERS[kind]
    limit = csv.field_size_limit()
    with pytest.raises(FormatError, match="not CSV") as raised:
        _read(reader, data + b'"' + b"x" * (limit + 10) + b'",y\n')
    assert raised.value.line == data.count(b"\n") + 1
    assert csv.field_size_limit() == limit


def _read_or_format_error(reader: Reader, data: bytes) -> None:
    try:
        for item in reader(io.BytesIO(data)):
            assert isinstance(item, PlaylistStart | PlaylistInfo | Entry | Skipped)
    except FormatError:
        pass


@pytest.mark.parametrize("kind", READERS)
@settings(derandomize=True, deadline=None, max_examples=75)
@given(data=st.binary(max_size=2000))
def test_any_bytes_give_items_or_a_format_error(kind: str, data: bytes) -> None:
    _read_or_format_error(READERS[kind][0], data)


CSV_PIECES = [
    *EXPORTIFY_COLUMNS[:4],
    "Video ID",
    "Song Title",
    "Artist Name 1",
    "Title",
    "Playlist",
    "Duration",
    "Spotify",
    "URL",
    "spotify:track:0000000000000000000001",
    "spotify:local:",
    "dQw4w9WgXcQ",
    "'=",
    "5:31",
    "99999999999999999999",
    "2026-03-01T10:00:00+00:00",
    "2019-05-04 10:00:00 UTC",
    '"',
    '""',
    ",",
    ";",
    "\t",
    "\n",
    "\r",
    "\\,",
]


@pytest.mark.parametrize("kind", READERS)
@settings(derandomize=True, deadline=None, max_examples=75)
@given(pieces=st.lists(st.sampled_from(CSV_PIECES) | st.text(max_size=4), max_size=40))
def test_csv_like_text_gives_items_or_a_format_error(kind: str, pieces: list[str]) -> None:
    _read_or_format_error(READERS[kind][0], "".join(pieces).encode("utf-8", "surrogatepass"))


@st.composite
def _mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 10))):
        position = draw(st.integers(0, len(data)))
        match draw(st.sampled_from(["insert", "delete", "replace"])):
            case "insert":
                data[position:position] = draw(
                    st.binary(min_size=1, max_size=4) | st.sampled_from([b'"', b",", b"\n"])
                )
            case "delete":
                del data[position : position + draw(st.integers(1, 8))]
            case _:
                data[position : position + 1] = draw(st.binary(min_size=1, max_size=1))
    return bytes(data)


@pytest.mark.parametrize("kind", READERS)
@settings(derandomize=True, deadline=None, max_examples=75)
@given(data=st.data())
def test_mutated_valid_files_give_items_or_a_format_error(kind: str, data: st.DataObject) -> None:
    reader, valid = READERS[kind]
    more = {"takeout playlist": TAKEOUT_PRE_2023, "generic": SOUNDIIZ}.get(kind, valid)
    _read_or_format_error(reader, data.draw(_mutated(data.draw(st.sampled_from([valid, more])))))


@settings(derandomize=True, deadline=None, max_examples=75)
@given(data=st.data())
def test_mutated_files_we_wrote_give_items_or_a_format_error(data: st.DataObject) -> None:
    text = _exportify_text(data.draw(st.lists(TRACKS, min_size=1, max_size=3)))
    _read_or_format_error(read_exportify, data.draw(_mutated(text.encode())))


def _rows(kind: str, count: int) -> Iterator[bytes]:
    if kind == "exportify":
        yield B4_EXAMPLE.split(b"\n")[0] + b"\n"
        row = B4_EXAMPLE.split(b"\n")[1]
        for _ in range(count):
            yield row + b"\n"
    elif kind == "takeout playlist":
        yield b"Video ID,Playlist Video Creation Timestamp\n"
        for number in range(count):
            yield f"{number:011d},2026-03-01T10:00:00+00:00\n".encode()
    elif kind == "takeout library":
        yield b"Video ID,Song Title,Album Title,Artist Name 1\n"
        for number in range(count):
            yield f"{number:011d},Title {number},Album,Artist\n".encode()
    else:
        yield b"Title,Artist\n"
        for number in range(count):
            yield f"Title {number},Artist {number}\n".encode()


@pytest.mark.parametrize("kind", READERS)
def test_a_100000_entry_file_is_read_lazily(kind: str) -> None:
    stream = GeneratedStream(_rows(kind, MAX_ENTRIES))
    items = READERS[kind][0](io.BufferedReader(stream))
    next(item for item in items if isinstance(item, Entry))
    assert stream.chunks_read < 5_000  # the rest of the file is not read yet
    assert 1 + sum(isinstance(item, Entry) for item in items) == MAX_ENTRIES


@pytest.mark.parametrize("kind", READERS)
def test_more_entries_than_the_limit_is_an_error(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_files, "MAX_ENTRIES", 10)
    with pytest.raises(FormatError, match="more than 10 entries") as raised:
        list(READERS[kind][0](io.BufferedReader(GeneratedStream(_rows(kind, 11)))))
    assert raised.value.line == 12
