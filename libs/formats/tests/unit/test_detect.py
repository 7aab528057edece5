"""Detection from content: each format's own small file is told apart from all the others (in any of the
encodings pm_formats.text reads), the file name only breaks ties, the stream is given back whole, and
read() reaches the right reader; the writers' files are detected as what they are."""

from __future__ import annotations

import codecs
import io
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_formats import Entry, FileTrack, FormatError, PlaylistInfo, PlaylistStart
from pm_formats.detect import FORMATS, WRITERS, Format, WritableFormat, detect, playlist_name, read
from pm_formats.text import HEAD_BYTES

M3U = b"""#EXTM3U
#PLAYLIST:Road Trip
#EXTINF:331,Massive Attack - Teardrop
Music/Massive Attack/Mezzanine/03 Teardrop.flac
#EXTINF:-1,Unknown Artist - Live Stream
https://radio.example.net/stream
"""

XSPF = b"""<?xml version="1.0" encoding="UTF-8"?>
<playlist version="1" xmlns="http://xspf.org/ns/0/">
  <title>Road Trip</title><creator>alice</creator>
  <trackList>
    <track>
      <location>file:///music/teardrop.flac</location>
      <identifier>https://musicbrainz.org/recording/00000000-0000-4000-8000-000000000001</identifier>
      <title>Teardrop</title><creator>Massive Attack</creator><album>Mezzanine</album>
      <duration>331000</duration>
    </track>
  </trackList>
</playlist>
"""

JSPF = b"""{"playlist": {"title": "Road Trip", "creator": "alice", "date": "2026-05-01T10:00:00+00:00",
  "identifier": "https://listenbrainz.org/playlist/00000000-0000-4000-8000-0000000000aa",
  "extension": {"https://musicbrainz.org/doc/jspf#playlist": {"public": false, "creator": "alice"}},
  "track": [{"title": "Teardrop", "creator": "Massive Attack", "album": "Mezzanine", "duration": 331000,
    "identifier": ["https://musicbrainz.org/recording/00000000-0000-4000-8000-000000000001"],
    "extension": {"https://musicbrainz.org/doc/jspf#track": {"added_by": "alice",
      "added_at": "2026-05-01T10:00:00+00:00", "additional_metadata": {"isrc": "GBAAA9800006"}}}}]}}
"""

LOSSLESS = b"""{"format": "playlist-manager", "version": 1, "playlists": [
{"name": "Road Trip", "description": null, "entries": [
{"title": "Teardrop", "artists": ["Massive Attack"], "album": "Mezzanine", "duration_ms": 331000}
]}
]}
"""

EXPORTIFY = b""""Track URI","Track Name","Artist URI(s)","Artist Name(s)","Album URI","Album Name","Album Artist URI(s)","Album Artist Name(s)","Album Release Date","Album Image URL","Disc Number","Track Number","Track Duration (ms)","Track Preview URL","Explicit","Popularity","ISRC","Added By","Added At"
"spotify:track:0000000000000000000001","Teardrop","spotify:artist:0000000000000000000002","Massive Attack","spotify:album:0000000000000000000003","Mezzanine","spotify:artist:0000000000000000000002","Massive Attack","1998-04-20","","1","3","330773","","false","0","GBAAA9800006","spotify:user:alice","2026-05-01T10:00:00Z"
"""

TAKEOUT_PLAYLIST = b"""Video ID,Playlist Video Creation Timestamp
dQw4w9WgXcQ,2026-03-01T10:00:00+00:00
"""

TAKEOUT_LIBRARY = b"""Video ID,Song Title,Album Title,Artist Name 1
dQw4w9WgXcQ,Never Gonna Give You Up,Whenever You Need Somebody,Rick Astley
"""

GENERIC_CSV = b"""Title,Artist,Album,ISRC
Teardrop,Massive Attack,Mezzanine,GBAAA9800006
"""

SPOTIFY_PLAYLISTS = b"""{"playlists":[{"name":"Gym","lastModifiedDate":"2026-01-02","description":null,"numberOfFollowers":0,
  "items":[{"track":{"trackName":"Teardrop","artistName":"Massive Attack","albumName":"Mezzanine",
  "trackUri":"spotify:track:0000000000000000000001"},"episode":null,"localTrack":null,"addedDate":"2026-01-01"}]}]}"""

SPOTIFY_LIBRARY = b"""{"tracks":[{"artist":"Massive Attack","album":"Mezzanine","track":"Teardrop",
  "uri":"spotify:track:0000000000000000000001"}],"albums":[],"shows":[],"episodes":[],"bannedTracks":[],
  "artists":[],"bannedArtists":[],"other":[]}"""

ITUNES = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
  <key>Major Version</key><integer>1</integer>
  <key>Minor Version</key><integer>1</integer>
  <key>Application Version</key><string>12.13.1.3</string>
  <key>Music Folder</key><string>file:///Users/alice/Music/</string>
  <key>Tracks</key><dict>
    <key>101</key><dict>
      <key>Track ID</key><integer>101</integer><key>Name</key><string>Teardrop</string>
      <key>Artist</key><string>Massive Attack</string><key>Album</key><string>Mezzanine</string>
      <key>Total Time</key><integer>331000</integer>
      <key>Location</key><string>file:///Users/alice/Music/Teardrop.flac</string>
    </dict>
  </dict>
  <key>Playlists</key><array><dict>
    <key>Name</key><string>Road Trip</string>
    <key>Playlist Persistent ID</key><string>0A1B2C3D4E5F6071</string>
    <key>Playlist Items</key><array><dict><key>Track ID</key><integer>101</integer></dict></array>
  </dict></array>
</dict></plist>
"""

FIXTURES: dict[Format, bytes] = {
    "m3u": M3U,
    "xspf": XSPF,
    "jspf": JSPF,
    "lossless": LOSSLESS,
    "exportify": EXPORTIFY,
    "takeout_playlist": TAKEOUT_PLAYLIST,
    "takeout_library": TAKEOUT_LIBRARY,
    "generic_csv": GENERIC_CSV,
    "spotify_playlists": SPOTIFY_PLAYLISTS,
    "spotify_library": SPOTIFY_LIBRARY,
    "itunes": ITUNES,
}
# Text formats whose files are read in UTF-16 or Latin-1 too (XML and JSON declare or require their own).
TEXT_FORMATS: tuple[Format, ...] = ("m3u", "exportify", "takeout_playlist", "takeout_library", "generic_csv")


def test_every_format_has_a_fixture() -> None:
    assert set(FIXTURES) == set(FORMATS)


@pytest.mark.parametrize("file_format", FORMATS)
def test_each_format_is_detected_from_its_content_alone(file_format: Format) -> None:
    data = FIXTURES[file_format]
    found, stream = detect(io.BytesIO(data))
    assert found == file_format
    assert stream.read() == data, "the stream given back holds the whole file"


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_utf8_byte_order_mark_changes_nothing(file_format: Format) -> None:
    found, _ = detect(io.BytesIO(codecs.BOM_UTF8 + FIXTURES[file_format]))
    assert found == file_format


@pytest.mark.parametrize("file_format", TEXT_FORMATS)
@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_text_formats_are_detected_in_utf16_and_latin1(file_format: Format, encoding: str) -> None:
    text = FIXTURES[file_format].decode().replace("Teardrop", "Teardrop é")
    data = text.encode(encoding)
    found, stream = detect(io.BytesIO(data))
    assert found == file_format
    assert stream.read() == data


@pytest.mark.parametrize("file_format", FORMATS)
def test_read_reaches_the_right_reader(file_format: Format) -> None:
    items = list(read(io.BytesIO(FIXTURES[file_format])))
    assert isinstance(items[0], PlaylistStart)
    assert any(isinstance(item, Entry) for item in items)


def test_the_file_name_breaks_a_tie() -> None:
    # A CSV with a line that begins like M3U's: both sniff; the order says CSV, the name says M3U.
    data = b"Title,Artist\n#EXTINF:1,Massive Attack - Teardrop\nTeardrop,Massive Attack\n"
    assert detect(io.BytesIO(data))[0] == "generic_csv"
    assert detect(io.BytesIO(data), "list.csv")[0] == "generic_csv"
    assert detect(io.BytesIO(data), "C:\\Music\\list.M3U")[0] == "m3u"
    assert detect(io.BytesIO(data), "list.txt")[0] == "generic_csv"


def test_the_file_name_never_overrides_the_content() -> None:
    assert detect(io.BytesIO(XSPF), "playlist.m3u8")[0] == "xspf"
    assert detect(io.BytesIO(LOSSLESS), "export.csv")[0] == "lossless"


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"Music/Teardrop.flac\nMusic/Angel.flac\n", "old.m3u", "m3u"),
        (b"", "empty.m3u8", "m3u"),
        (b"<playlist>broken", "broken.xspf", "xspf"),
        (b"a;b\n1;2\n", "odd.csv", "generic_csv"),
    ],
)
def test_the_extension_decides_when_nothing_sniffs(data: bytes, filename: str, expected: Format) -> None:
    assert detect(io.BytesIO(data), filename)[0] == expected


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", None, "an empty file"),
        (b"", "notes.txt", "an empty file"),
        (b"hello, world", None, "the file is none of M3U"),
        (b"hello, world", "dir/notes.txt", "notes.txt is none of M3U"),
        (b'{"some": "json"}', "data.json", "data.json is none of"),
        (b"\x00\x01\x02\xff", "blob.bin", "blob.bin is none of"),
    ],
)
def test_a_file_nothing_reads_is_a_format_error(data: bytes, filename: str | None, message: str) -> None:
    with pytest.raises(FormatError, match="not a playlist file this reads: " + message):
        detect(io.BytesIO(data), filename)


def test_read_raises_format_error_for_a_file_nothing_reads() -> None:
    with pytest.raises(FormatError, match="not a playlist file this reads"):
        list(read(io.BytesIO(b"hello, world")))


class _Trickle(io.RawIOBase):
    """A stream that answers one byte per read, as a slow pipe may."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._data:
            return 0
        buffer[0] = self._data[0]
        self._data = self._data[1:]
        return 1


def test_short_reads_still_give_the_whole_head() -> None:
    found, stream = detect(_Trickle(SPOTIFY_LIBRARY))  # type: ignore[arg-type]
    assert found == "spotify_library"
    assert stream.read() == SPOTIFY_LIBRARY


def test_a_file_longer_than_the_head_is_given_back_whole() -> None:
    entry = b'{"title": "T", "artists": ["A"]},\n'
    body = entry * (3 * HEAD_BYTES // len(entry))
    data = LOSSLESS.replace(b'{"title"', body + b'{"title"', 1)
    found, stream = detect(io.BytesIO(data))
    assert found == "lossless"
    assert stream.read() == data


def test_only_the_head_is_read_from_the_source() -> None:
    source = io.BytesIO(b"#EXTM3U\n" + b"a.flac\n" * HEAD_BYTES)
    detect(source)
    assert source.tell() == HEAD_BYTES


@pytest.mark.parametrize(
    ("filename", "file_format", "name"),
    [
        ("road_trip.csv", "exportify", "road_trip"),
        ("Takeout/YouTube and YouTube Music/playlists/Road Trip-videos.csv", "takeout_playlist", "Road Trip"),
        ("Liked videos-videos.csv", "takeout_playlist", "Liked videos"),
        ("C:\\Users\\alice\\mix.csv", "generic_csv", "mix"),
        ("road_trip.m3u8", "m3u", None),
        (None, "exportify", None),
    ],
)
def test_the_playlist_name_from_the_file_name(
    filename: str | None, file_format: Format, name: str | None
) -> None:
    assert playlist_name(filename, file_format) == name


def test_read_names_a_playlist_from_its_file_name() -> None:
    items = list(read(io.BytesIO(TAKEOUT_PLAYLIST), "Road Trip-videos.csv"))
    assert PlaylistInfo("Road Trip") in items


# --- Writers ------------------------------------------------------------------------------------------------

TRACK = FileTrack("Teardrop", ("Massive Attack",), "Mezzanine", 331000, isrc="GBAAA9800006")


def test_writers_name_their_extension_and_media_type() -> None:
    assert {name: (w.extension, w.media_type) for name, w in WRITERS.items()} == {
        "m3u": (".m3u8", "audio/x-mpegurl"),
        "xspf": (".xspf", "application/xspf+xml"),
        "jspf": (".jspf", "application/json"),
        "lossless": (".json", "application/json"),
        "exportify": (".csv", "text/csv"),
    }


@pytest.mark.parametrize("file_format", list(WRITERS))
def test_each_written_file_is_detected_as_its_format_and_reads_back(file_format: WritableFormat) -> None:
    writer = WRITERS[file_format]
    out = io.BytesIO()
    writer.write(PlaylistInfo("Road Trip"), iter([TRACK]), out)
    assert not out.closed
    data = out.getvalue()
    data.decode("utf-8")
    assert detect(io.BytesIO(data))[0] == file_format
    entries = [
        item.track
        for item in read(io.BytesIO(data), "road_trip" + writer.extension)
        if isinstance(item, Entry)
    ]
    assert [(t.title, t.artists) for t in entries] == [("Teardrop", ("Massive Attack",))]


# --- Fuzz ---------------------------------------------------------------------------------------------------

filenames = st.none() | st.sampled_from(
    ["a.m3u", "a.m3u8", "a.xspf", "a.jspf", "a.json", "a.xml", "a.csv", "a.txt", ""]
)


def _detect_or_format_error(data: bytes, filename: str | None) -> None:
    try:
        found, stream = detect(io.BytesIO(data), filename)
    except FormatError:
        return
    assert found in FORMATS
    assert stream.read() == data


def _read_or_format_error(data: bytes, filename: str | None) -> None:
    try:
        for _ in read(io.BytesIO(data), filename):
            pass
    except FormatError:
        pass


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.binary(max_size=2000), filenames)
def test_fuzz_detect_arbitrary_bytes(data: bytes, filename: str | None) -> None:
    _detect_or_format_error(data, filename)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.text(max_size=2000), filenames)
def test_fuzz_detect_arbitrary_text(text: str, filename: str | None) -> None:
    _detect_or_format_error(text.encode("utf-8", errors="surrogatepass"), filename)


def _mutated(rnd: random.Random, data: bytes, mutations: int) -> bytes:
    buffer = bytearray(data)
    for _ in range(mutations):
        position = rnd.randrange(len(buffer) + 1)
        inserted = rnd.choice(
            [b'"', b",", b"{", b"}", b"<", b">", b"\n", b"#", b"\x00", b"\xff", b"\xfe\xff"]
        )
        operation = rnd.choice(["delete", "insert", "replace", "duplicate"])
        if operation == "delete":
            del buffer[position : position + rnd.randint(1, 12)]
        elif operation == "insert":
            buffer[position:position] = inserted
        elif operation == "replace":
            buffer[position : position + 1] = inserted
        else:
            buffer[position:position] = buffer[position : position + rnd.randint(1, 60)]
    return bytes(buffer)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.sampled_from(FORMATS), st.randoms(use_true_random=False), st.integers(1, 6), filenames)
def test_fuzz_detect_and_read_mutated_files_of_every_format(
    file_format: Format, rnd: random.Random, mutations: int, filename: str | None
) -> None:
    data = _mutated(rnd, FIXTURES[file_format], mutations)
    _detect_or_format_error(data, filename)
    _read_or_format_error(data, filename)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.binary(max_size=2000), filenames)
def test_fuzz_read_arbitrary_bytes(data: bytes, filename: str | None) -> None:
    _read_or_format_error(data, filename)
