"""iTunes / Apple Music Library.xml: a real-shaped library (with Apple's DOCTYPE) reads as its playlists,
built-ins and folders left out; entities refused; anything not a library refused; a long playlist read one
item at a time."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_formats import Entry, FileTrack, FormatError, Item, PlaylistInfo, PlaylistStart, Skipped, itunes
from pm_formats.itunes import read_itunes, sniff
from pm_formats.limits import MAX_ENTRIES

from .streams import GeneratedStream

HEAD = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
\t<key>Major Version</key><integer>1</integer>
\t<key>Minor Version</key><integer>1</integer>
\t<key>Application Version</key><string>12.13.2.3</string>
\t<key>Date</key><date>2026-05-01T10:00:00Z</date>
\t<key>Features</key><integer>5</integer>
\t<key>Show Content Ratings</key><true/>
\t<key>Music Folder</key><string>file:///Users/alice/Music/iTunes/iTunes%20Media/</string>
\t<key>Library Persistent ID</key><string>0123456789ABCDEF</string>
"""
TRACKS = b"""\t<key>Tracks</key>
\t<dict>
\t\t<key>101</key>
\t\t<dict>
\t\t\t<key>Track ID</key><integer>101</integer>
\t\t\t<key>Name</key><string>Teardrop</string>
\t\t\t<key>Artist</key><string>Massive Attack</string>
\t\t\t<key>Album Artist</key><string>Massive Attack</string>
\t\t\t<key>Album</key><string>Mezzanine</string>
\t\t\t<key>Genre</key><string>Trip-Hop</string>
\t\t\t<key>Kind</key><string>Apple Lossless audio file</string>
\t\t\t<key>Size</key><integer>41234567</integer>
\t\t\t<key>Total Time</key><integer>331000</integer>
\t\t\t<key>Track Number</key><integer>3</integer>
\t\t\t<key>Year</key><integer>1998</integer>
\t\t\t<key>Date Added</key><date>2020-01-01T10:00:00Z</date>
\t\t\t<key>Play Count</key><integer>12</integer>
\t\t\t<key>Persistent ID</key><string>AAAAAAAAAAAAAAA1</string>
\t\t\t<key>Track Type</key><string>File</string>
\t\t\t<key>Location</key><string>file:///Users/alice/Music/iTunes/iTunes%20Media/Music/Massive%20Attack/Mezzanine/03%20Teardrop.m4a</string>
\t\t\t<key>File Folder Count</key><integer>5</integer>
\t\t</dict>
\t\t<key>102</key>
\t\t<dict>
\t\t\t<key>Track ID</key><integer>102</integer>
\t\t\t<key>Name</key><string>Episode 1 &amp; More</string>
\t\t\t<key>Artist</key><string>A Show</string>
\t\t\t<key>Total Time</key><integer>1800000</integer>
\t\t\t<key>Podcast</key><true/>
\t\t\t<key>Explicit</key><true/>
\t\t\t<key>Track Type</key><string>URL</string>
\t\t\t<key>Location</key><string>https://podcasts.example.com/ep1.mp3?a=1&amp;b=2</string>
\t\t</dict>
\t\t<key>103</key>
\t\t<dict>
\t\t\t<key>Track ID</key><integer>103</integer>
\t\t\t<key>Name</key><string>Angel</string>
\t\t\t<key>Artist</key><string>Massive Attack</string>
\t\t\t<key>Clean</key><true/>
\t\t\t<key>Apple Music</key><true/>
\t\t\t<key>Track Type</key><string>Remote</string>
\t\t</dict>
\t\t<key>104</key>
\t\t<dict>
\t\t\t<key>Track ID</key><integer>104</integer>
\t\t\t<key>Name</key><string>Windows</string>
\t\t\t<key>Location</key><string>file://localhost/C:/Users/Bob/Music/%C3%89t%C3%A9.mp3</string>
\t\t\t<key>Artwork Count</key><integer>1</integer>
\t\t</dict>
\t</dict>
"""
PLAYLISTS = b"""\t<key>Playlists</key>
\t<array>
\t\t<dict>
\t\t\t<key>Name</key><string>Library</string>
\t\t\t<key>Description</key><string></string>
\t\t\t<key>Master</key><true/>
\t\t\t<key>Playlist ID</key><integer>200</integer>
\t\t\t<key>Visible</key><false/>
\t\t\t<key>All Items</key><true/>
\t\t\t<key>Playlist Items</key>
\t\t\t<array><dict><key>Track ID</key><integer>101</integer></dict></array>
\t\t</dict>
\t\t<dict>
\t\t\t<key>Name</key><string>Podcasts</string>
\t\t\t<key>Distinguished Kind</key><integer>10</integer>
\t\t\t<key>Playlist Items</key>
\t\t\t<array><dict><key>Track ID</key><integer>102</integer></dict></array>
\t\t</dict>
\t\t<dict>
\t\t\t<key>Name</key><string>Trips</string>
\t\t\t<key>Playlist Persistent ID</key><string>FFFFFFFFFFFFFFF0</string>
\t\t\t<key>Folder</key><true/>
\t\t\t<key>Playlist Items</key>
\t\t\t<array><dict><key>Track ID</key><integer>101</integer></dict></array>
\t\t</dict>
\t\t<dict>
\t\t\t<key>Name</key><string>Road Trip</string>
\t\t\t<key>Description</key><string>For the car</string>
\t\t\t<key>Playlist ID</key><integer>201</integer>
\t\t\t<key>Playlist Persistent ID</key><string>0A1B2C3D4E5F6071</string>
\t\t\t<key>Parent Persistent ID</key><string>FFFFFFFFFFFFFFF0</string>
\t\t\t<key>All Items</key><true/>
\t\t\t<key>Playlist Items</key>
\t\t\t<array>
\t\t\t\t<dict><key>Track ID</key><integer>101</integer></dict>
\t\t\t\t<dict><key>Track ID</key><integer>103</integer></dict>
\t\t\t\t<dict><key>Track ID</key><integer>999</integer></dict>
\t\t\t\t<dict><key>Persistent ID</key><string>X</string></dict>
\t\t\t\t<string>101</string>
\t\t\t\t<dict><key>Track ID</key><integer>104</integer></dict>
\t\t\t</array>
\t\t</dict>
\t\t<dict>
\t\t\t<key>Name</key><string>Recently Played</string>
\t\t\t<key>Smart Info</key><data>AQEAAwAAAAIAAAAZAAAAAAAAAAcAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</data>
\t\t\t<key>Smart Criteria</key><data>U0xzdAABAAEAAAACAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</data>
\t\t\t<key>Playlist Items</key>
\t\t\t<array><dict><key>Track ID</key><integer>102</integer></dict></array>
\t\t</dict>
\t\t<dict>
\t\t\t<key>Name</key><string>Empty</string>
\t\t\t<key>Playlist ID</key><integer>202</integer>
\t\t</dict>
\t</array>
"""
TAIL = b"""</dict>
</plist>
"""
LIBRARY = HEAD + TRACKS + PLAYLISTS + TAIL

TEARDROP = FileTrack(
    "Teardrop",
    ("Massive Attack",),
    album="Mezzanine",
    duration_ms=331000,
    location="/Users/alice/Music/iTunes/iTunes Media/Music/Massive Attack/Mezzanine/03 Teardrop.m4a",
)
EPISODE = FileTrack(
    "Episode 1 & More",
    ("A Show",),
    duration_ms=1800000,
    explicit=True,
    location="https://podcasts.example.com/ep1.mp3?a=1&b=2",
    media_type="episode",
)
ANGEL = FileTrack("Angel", ("Massive Attack",), explicit=False)
WINDOWS = FileTrack("Windows", location="C:/Users/Bob/Music/Été.mp3")


def _read(data: bytes) -> list[Item]:
    return list(read_itunes(io.BytesIO(data)))


def _library(tracks: bytes, playlists: bytes) -> bytes:
    return HEAD + tracks + playlists + TAIL


def _track_dict(track_id: int, *fields: str) -> bytes:
    body = "".join(fields)
    return (
        f"<key>{track_id}</key><dict><key>Track ID</key><integer>{track_id}</integer>{body}</dict>".encode()
    )


def _playlist_dict(*fields: str) -> bytes:
    return ("<dict>" + "".join(fields) + "</dict>").encode()


# --- A real-shaped library ----------------------------------------------------------------------------------


def test_a_library_reads_as_its_own_playlists() -> None:
    assert _read(LIBRARY) == [
        PlaylistStart(),
        PlaylistInfo("Road Trip", "For the car"),
        Entry(TEARDROP),
        Entry(ANGEL),
        Skipped("item 3: track 999 is not in the library's Tracks"),
        Skipped("item 4: no Track ID"),
        Skipped("item 5: no Track ID"),
        Entry(WINDOWS),
        PlaylistStart(),
        PlaylistInfo("Recently Played"),
        Entry(EPISODE),
        PlaylistStart(),
        PlaylistInfo("Empty"),
    ]


def test_without_the_doctype_or_the_xml_declaration_it_reads_the_same() -> None:
    data = LIBRARY.split(b"\n", 2)[2]
    assert data.startswith(b"<plist")
    assert _read(data) == _read(LIBRARY)


def test_utf16_is_read() -> None:
    data = LIBRARY.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert _read(data) == _read(LIBRARY)


def test_a_track_id_only_in_the_key_and_odd_values_are_read_as_far_as_they_go() -> None:
    tracks = (
        b"<key>Tracks</key><dict>"
        b"<key>7</key><dict><key>Name</key><string>Seven</string>"
        b"<key>Total Time</key><integer>-5</integer><key>Artist</key><integer>3</integer>"
        b"<key>Location</key><string>file://server/share/a%20b.mp3</string></dict>"
        b"<key>x</key><dict><key>Name</key><string>no id</string></dict>"
        b"<key>8</key><string>not a dict</string>"
        b"<key>9</key><dict><key>Track ID</key><integer>9</integer><key>Total Time</key><integer>1e3</integer>"
        b"<key>Name</key><string/><key>Podcast</key><false/><key>Rating</key><real>1.5x</real></dict>"
        b"</dict>"
    )
    playlists = (
        b"<key>Playlists</key><array><string>not a playlist</string>"
        + _playlist_dict(
            "<key>Playlist Items</key><array>",
            "<dict><key>Track ID</key><integer>7</integer></dict>",
            "<dict><key>Track ID</key><integer>9</integer></dict>",
            "<dict><key>Track ID</key><true/></dict>",
            "</array>",
        )
        + b"</array>"
    )
    assert _read(_library(tracks, playlists)) == [
        PlaylistStart(),
        PlaylistInfo(""),
        Entry(FileTrack("Seven", location="//server/share/a b.mp3")),
        Entry(FileTrack("")),
        Skipped("item 3: no Track ID"),
    ]


# --- Sniffing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head", [LIBRARY.decode(), LIBRARY.decode()[:400], LIBRARY.split(b"\n", 2)[2].decode()[:200]]
)
def test_sniff_knows_a_library(head: str) -> None:
    assert sniff(head)


@pytest.mark.parametrize(
    "head",
    [
        LIBRARY.decode()[:150],
        '<?xml version="1.0"?><!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "x">'
        "<plist><dict><key>CFBundleName</key><string>App</string></dict></plist>",
        '<playlist xmlns="http://xspf.org/ns/0/"><trackList/></playlist>',
        '{"playlist": {}}',
        "<key>Tracks</key>",
        "",
    ],
)
def test_sniff_refuses_the_rest(head: str) -> None:
    assert not sniff(head)


# --- Hostile, broken and other files ------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE plist [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<plist version="1.0"><dict><key>Major Version</key><string>&lol9;</string></dict></plist>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE plist [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<plist version="1.0"><dict><key>Major Version</key><string>&x;</string></dict></plist>
"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE plist [<!ENTITY % remote SYSTEM "http://example.com/evil.dtd"> %remote;]>
<plist version="1.0"><dict/></plist>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY])
def test_entities_are_refused(data: bytes) -> None:
    with pytest.raises(FormatError, match="not allowed"):
        _read(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed XML"),
        (b"<plist><dict><key>Tracks</key><dict>", "not well-formed XML"),
        (b'<playlist xmlns="http://xspf.org/ns/0/"/>', "not a plist: the root element is <playlist>"),
        (b"<plist/>", "not an iTunes library: the plist does not hold a dict"),
        (b"<plist><array/></plist>", "not an iTunes library: the plist does not hold a dict"),
        (
            b"<plist><dict><key>CFBundleName</key><string>App</string></dict></plist>",
            "no Tracks or Playlists",
        ),
        (b"<plist><dict/><dict/></plist>", "a <plist> holds one value"),
        (b"<plist><dict><string>x</string></dict></plist>", "without its <key>"),
        (b"<plist><dict><key>a</key></dict></plist>", "a <key> without its value"),
        (
            b"<plist><dict><key>a</key><key>b</key></dict></plist>",
            "a <key> outside a <dict>, or without its value",
        ),
        (b"<plist><dict><key>a</key><array><key>b</key></array></dict></plist>", "a <key> outside a <dict>"),
        (b"<plist><dict><key>a</key><string><dict/></string></dict></plist>", "<dict> inside <string>"),
        (b"<plist><dict><key>a</key><float>1</float></dict></plist>", "not a plist: <float>"),
        (
            b"<plist><dict><key>Playlists</key><array/><key>Tracks</key><dict/></dict></plist>",
            "Playlists come before its Tracks",
        ),
    ],
)
def test_broken_files_and_other_formats_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as raised:
        _read(data)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_library_of_more_than_max_entries_tracks_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(itunes, "MAX_ENTRIES", 4)
    assert _read(_library(TRACKS, b"")) == []
    end = TRACKS.rindex(b"\t</dict>")
    tracks = TRACKS[:end] + _track_dict(105, "<key>Name</key><string>Five</string>") + TRACKS[end:]
    with pytest.raises(FormatError, match="a library of more than 4 tracks"):
        _read(_library(tracks, b""))


def test_a_playlist_of_more_than_max_entries_items_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(itunes, "MAX_ENTRIES", 6)
    assert _read(LIBRARY)
    item = "<dict><key>Track ID</key><integer>101</integer></dict>"
    playlists = (
        b"<key>Playlists</key><array>"
        + _playlist_dict(
            "<key>Name</key><string>Long</string><key>Playlist Items</key><array>", item * 7, "</array>"
        )
        + b"</array>"
    )
    with pytest.raises(FormatError, match="a playlist of more than 6 items"):
        _read(_library(TRACKS, playlists))


# --- Fuzz ---------------------------------------------------------------------------------------------------


def _read_or_refuse(data: bytes) -> None:
    refusal = ""
    try:
        for item in read_itunes(io.BytesIO(data)):
            assert isinstance(item, PlaylistStart | PlaylistInfo | Entry | Skipped)
    except FormatError as error:
        refusal = str(error)
    assert "\n" not in refusal


@st.composite
def mutations(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "swap"]))
        byte = draw(st.sampled_from(list(b'<>&;/"=!?[]-\x00\xff\xc3 ')) | st.integers(0, 255))
        if action == "insert":
            data[position:position] = bytes([byte])
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 60))]
        elif action == "swap":
            # A whole element for another: still XML, no longer the plist it was.
            tags = [
                b"<dict>",
                b"</dict>",
                b"<key>",
                b"</key>",
                b"<array>",
                b"</array>",
                b"<true/>",
                b"<string>",
            ]
            old, new = draw(st.sampled_from(tags)), draw(st.sampled_from(tags))
            data = bytearray(bytes(data).replace(old, new, draw(st.integers(1, 3))))
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
@given(mutations(LIBRARY))
def test_mutated_libraries_are_read_or_refused(data: bytes) -> None:
    _read_or_refuse(data)


# --- A long playlist ----------------------------------------------------------------------------------------


def _generated_library(items: int) -> Iterator[bytes]:
    yield HEAD + TRACKS
    yield b"<key>Playlists</key><array><dict><key>Name</key><string>Long</string><key>Playlist Items</key><array>"
    for _ in range(items // 100):
        yield b"<dict><key>Track ID</key><integer>101</integer></dict>\n" * 100
    yield b"</array></dict></array>" + TAIL


def test_a_playlist_of_max_entries_items_is_read_one_at_a_time() -> None:
    stream = GeneratedStream(_generated_library(MAX_ENTRIES))
    items = read_itunes(io.BufferedReader(stream))
    assert [next(items), next(items), next(items)] == [PlaylistStart(), PlaylistInfo("Long"), Entry(TEARDROP)]
    assert not stream.exhausted
    entries = 1 + sum(1 for item in items if isinstance(item, Entry))
    assert entries == MAX_ENTRIES and stream.exhausted
