"""XSPF: what we write reads back as it was (within what XML 1.0 holds), other writers' files read with
their URIs understood, hostile XML (DTDs, entities) refused, and 100,000 tracks read one at a time."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import pytest
from defusedxml.ElementTree import fromstring
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
    xspf,
)
from pm_formats.ids import clean_isrc
from pm_formats.limits import MAX_ENTRIES
from pm_formats.xspf import (
    artists_from_creator,
    aware,
    creator_from_artists,
    normal_mbid,
    read_xspf,
    sniff,
    uri_facts,
    write_xspf,
    xml_text,
)

from .streams import GeneratedStream

TEARDROP_MBID = "00000000-0000-4000-8000-000000000001"
# providers.md B2.
EXAMPLE = f"""<?xml version="1.0" encoding="UTF-8"?>
<playlist version="1" xmlns="http://xspf.org/ns/0/">
  <title>Road Trip</title><creator>alice</creator>
  <trackList>
    <track>
      <location>file:///music/teardrop.flac</location>
      <identifier>https://musicbrainz.org/recording/{TEARDROP_MBID}</identifier>
      <title>Teardrop</title><creator>Massive Attack</creator><album>Mezzanine</album>
      <duration>331000</duration>
    </track>
  </trackList>
</playlist>
"""
TEARDROP = FileTrack(
    title="Teardrop",
    artists=("Massive Attack",),
    album="Mezzanine",
    duration_ms=331000,
    location="file:///music/teardrop.flac",
    mbid=TEARDROP_MBID,
)
SPOTIFY_ID = "4uLU6hMCjMI75M1A2tKUQC"


def _read(data: bytes) -> list[Item]:
    return list(read_xspf(io.BytesIO(data)))


def _write(info: PlaylistInfo, tracks: Iterable[FileTrack]) -> bytes:
    out = io.BytesIO()
    write_xspf(info, tracks, out)
    return out.getvalue()


def _playlist(tracks: str, head: str = "<title>P</title>") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<playlist version="1" xmlns="http://xspf.org/ns/0/">'
        f"{head}<trackList>{tracks}</trackList></playlist>"
    ).encode()


def _tracks(data: bytes) -> list[FileTrack | str]:
    """The entries' tracks (a Skipped as its reason)."""
    return [
        item.track if isinstance(item, Entry) else item.reason
        for item in _read(data)
        if isinstance(item, Entry | Skipped)
    ]


# --- Reading other writers' files ---------------------------------------------------------------------------


def test_the_documented_example_reads() -> None:
    assert _read(EXAMPLE.encode()) == [PlaylistStart(), PlaylistInfo("Road Trip"), Entry(TEARDROP)]


@pytest.mark.parametrize(
    ("uri", "facts"),
    [
        (f"spotify:track:{SPOTIFY_ID}", {"provider_ids": {"spotify": SPOTIFY_ID}}),
        (f"https://open.spotify.com/track/{SPOTIFY_ID}?si=abc", {"provider_ids": {"spotify": SPOTIFY_ID}}),
        (f"https://open.spotify.com/intl-fr/track/{SPOTIFY_ID}", {"provider_ids": {"spotify": SPOTIFY_ID}}),
        (
            f"spotify:episode:{SPOTIFY_ID}",
            {"provider_ids": {"spotify": SPOTIFY_ID}, "media_type": "episode"},
        ),
        ("spotify:local:Massive+Attack:Mezzanine:Teardrop:331", {"media_type": "local"}),
        ("https://www.deezer.com/fr/track/3135556", {"provider_ids": {"deezer": "3135556"}}),
        ("deezer:track:3135556", {"provider_ids": {"deezer": "3135556"}}),
        ("https://tidal.com/browse/track/77640617", {"provider_ids": {"tidal": "77640617"}}),
        ("https://listen.tidal.com/track/77640617", {"provider_ids": {"tidal": "77640617"}}),
        (
            "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RD",
            {"provider_ids": {"youtube": "dQw4w9WgXcQ"}},
        ),
        (
            "https://www.youtube.com/watch?feature=x&v=dQw4w9WgXcQ",
            {"provider_ids": {"youtube": "dQw4w9WgXcQ"}},
        ),
        ("https://youtu.be/dQw4w9WgXcQ", {"provider_ids": {"youtube": "dQw4w9WgXcQ"}}),
        (f"https://musicbrainz.org/recording/{TEARDROP_MBID.upper()}", {"mbid": TEARDROP_MBID}),
        ("isrc:GBAAA9800006", {"isrc": "GBAAA9800006"}),
        ("urn:ISRC:gb-aaa-98-00006", {"isrc": "GBAAA9800006"}),
        ("isrc:GBAAA98", {}),
        ("https://open.spotify.com/track/too-short", {}),
        ("https://example.com/track/1", {}),
    ],
)
def test_identifiers_say_ids(uri: str, facts: dict[str, Any]) -> None:
    [track] = _tracks(
        _playlist(f"<track><identifier>{uri.replace('&', '&amp;')}</identifier><title>T</title></track>")
    )
    expected = FileTrack("T", **facts)
    assert track == expected


def test_locations_give_provider_ids_but_identifiers_win_and_the_first_location_is_the_location() -> None:
    data = _playlist(
        "<track>"
        f"<location>spotify:track:{'1' * 22}</location><location>https://www.deezer.com/track/1</location>"
        f"<identifier>https://open.spotify.com/track/{SPOTIFY_ID}</identifier>"
        f"<identifier>https://musicbrainz.org/recording/{TEARDROP_MBID}</identifier>"
        "<identifier>isrc:GBAAA9800006</identifier><identifier>isrc:USRC17607839</identifier>"
        "<title>T</title></track>"
    )
    assert _tracks(data) == [
        FileTrack(
            "T",
            location=f"spotify:track:{'1' * 22}",
            provider_ids={"spotify": SPOTIFY_ID, "deezer": "1"},
            mbid=TEARDROP_MBID,
            isrc="GBAAA9800006",
        )
    ]


def test_a_musicbrainz_url_or_isrc_in_a_location_is_only_a_location() -> None:
    url = f"https://musicbrainz.org/recording/{TEARDROP_MBID}"
    assert _tracks(_playlist(f"<track><location>{url}</location></track>")) == [FileTrack("", location=url)]


def test_the_title_may_come_after_the_tracks_and_info_is_given_where_it_is_met() -> None:
    data = _playlist("<track><title>T</title></track>", head="<annotation> About </annotation>")
    data = data.replace(b"</trackList>", b"</trackList><title>Late</title>")
    assert _read(data) == [PlaylistStart(), Entry(FileTrack("T")), PlaylistInfo("Late", "About")]


def test_a_playlist_without_title_or_annotation_has_no_info() -> None:
    assert _read(_playlist("<track><title>T</title></track>", head="")) == [
        PlaylistStart(),
        Entry(FileTrack("T")),
    ]


def test_an_annotation_alone_gives_info_with_an_empty_name_at_the_end() -> None:
    data = _playlist("<track><title>T</title></track>", head="<annotation>A</annotation>")
    assert _read(data) == [PlaylistStart(), Entry(FileTrack("T")), PlaylistInfo("", "A")]


def test_other_applications_extensions_and_elements_are_ignored() -> None:
    data = _playlist(
        "<track><title>T</title><trackNum>3</trackNum><image>https://example.com/a.jpg</image>"
        '<meta rel="x">y</meta><link rel="x">https://example.com</link>'
        '<extension application="http://www.videolan.org/vlc/playlist/0">'
        "<title>not this</title><location>nor this</location></extension>"
        '<x:title xmlns:x="https://example.com/other">nor that</x:title>'
        "</track>",
        head='<title>P</title><extension application="x"><title>no</title></extension><meta rel="r">m</meta>',
    )
    assert _read(data) == [PlaylistStart(), PlaylistInfo("P"), Entry(FileTrack("T"))]


def test_our_extension_from_another_writer_with_odd_values_is_read_as_far_as_it_goes() -> None:
    data = _playlist(
        "<track><title>T</title>"
        '<extension application="https://playlist-manager.invalid/xspf">'
        "<explicit>maybe</explicit><addedAt>yesterday</addedAt><mediaType>video</mediaType>"
        '<providerId provider="deezer">7</providerId><providerId>no provider</providerId>'
        "</extension></track>"
    )
    assert _tracks(data) == [FileTrack("T", provider_ids={"deezer": "7"})]


def test_text_is_read_without_the_whitespace_around_it() -> None:
    data = _playlist(
        "<track>\n  <location>\n   file:///a.flac \n</location>\n  <title>\n   Teardrop\n  </title>\n"
        "  <creator> Massive Attack ,  Tricky </creator><album>  </album><duration> 331000 </duration></track>"
    )
    assert _tracks(data) == [
        FileTrack("Teardrop", ("Massive Attack", "Tricky"), location="file:///a.flac", duration_ms=331000)
    ]


@pytest.mark.parametrize("duration", ["-1", "3.5", "abc", "", "٣"])
def test_a_duration_that_is_not_whole_ms_is_left_out(duration: str) -> None:
    data = _playlist(f"<track><title>T</title><duration>{duration}</duration></track>")
    assert _tracks(data) == [FileTrack("T")]


def test_a_track_with_nothing_to_name_it_is_skipped_and_the_rest_goes_on() -> None:
    data = _playlist("<track><album>A</album></track><track/><track><title>T</title></track>")
    assert _tracks(data) == [
        "track 1: no title, location or identifier",
        "track 2: no title, location or identifier",
        FileTrack("T"),
    ]


def test_a_file_without_the_namespace_is_read_all_the_same() -> None:
    data = b"<playlist><title>P</title><trackList><track><title>T</title></track></trackList></playlist>"
    assert _read(data) == [PlaylistStart(), PlaylistInfo("P"), Entry(FileTrack("T"))]


def test_artists_are_split_at_comma_space_so_a_name_holding_one_does_not_round_trip() -> None:
    assert artists_from_creator("Crosby, Stills, Nash & Young") == ("Crosby", "Stills", "Nash & Young")
    assert artists_from_creator("AC,DC") == ("AC,DC",)
    written = FileTrack("T", artists=("Earth, Wind & Fire", "AC,DC"))
    [track] = _tracks(_write(PlaylistInfo("P"), [written]))
    assert isinstance(track, FileTrack) and track.artists == ("Earth", "Wind & Fire", "AC,DC")


@pytest.mark.parametrize(
    ("encoding", "declared"),
    [("utf-16", "UTF-16"), ("latin-1", "ISO-8859-1"), ("utf-8-sig", "UTF-8")],
)
def test_utf16_latin1_and_a_bom_are_read(encoding: str, declared: str) -> None:
    text = EXAMPLE.replace("UTF-8", declared).replace("Road Trip", "Beyoncé — été")
    if encoding == "latin-1":
        text = text.replace("—", "-")
    [_, info, entry] = _read(text.encode(encoding))
    assert info == PlaylistInfo("Beyoncé — été" if encoding != "latin-1" else "Beyoncé - été")
    assert entry == Entry(TEARDROP)


def test_mixed_line_endings_are_read() -> None:
    data = EXAMPLE.replace("\n", "\r\n", 3).replace("\n", "\r", 3).encode()
    assert _read(data) == [PlaylistStart(), PlaylistInfo("Road Trip"), Entry(TEARDROP)]


# --- Sniffing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [
        EXAMPLE,
        EXAMPLE[:120],
        "\ufeff" + EXAMPLE,
        '<!-- made by hand --><?pi x?>\n<playlist xmlns="http://xspf.org/ns/0/" version="1">',
        '<xspf:playlist xmlns:xspf="http://xspf.org/ns/0/">',
    ],
)
def test_sniff_knows_xspf(head: str) -> None:
    assert sniff(head)


@pytest.mark.parametrize(
    "head",
    [
        "#EXTM3U\n#EXTINF:331,Massive Attack - Teardrop\n",
        '{"playlist": {"title": "Road Trip"}}',
        '<?xml version="1.0"?><plist version="1.0"><dict><key>Tracks</key></dict></plist>',
        '<rss><channel><playlist xmlns="http://xspf.org/ns/0/"/></channel></rss>',
        "<playlist><title>no namespace</title></playlist>",
        "",
    ],
)
def test_sniff_refuses_the_rest(head: str) -> None:
    assert not sniff(head)


# --- Hostile and broken files -------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE playlist [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<playlist version="1" xmlns="http://xspf.org/ns/0/"><title>&lol9;</title><trackList/></playlist>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE playlist [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<playlist version="1" xmlns="http://xspf.org/ns/0/"><title>&x;</title><trackList/></playlist>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE playlist SYSTEM "http://example.com/xspf.dtd">
<playlist version="1" xmlns="http://xspf.org/ns/0/"><trackList/></playlist>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_dtds_and_entities_are_refused(data: bytes) -> None:
    with pytest.raises(FormatError, match="not allowed"):
        _read(data)


@pytest.mark.parametrize(
    ("data", "message", "line"),
    [
        (b"", "not well-formed XML: no element found", 1),
        (b"<playlist><trackList>\n<track>\n</playlist>", "not well-formed XML: mismatched tag", 3),
        (b"<html><body/></html>", "not an XSPF playlist: the root element is <html>", None),
        (b'<playlist xmlns="https://example.com/other"/>', "not an XSPF playlist", None),
        (b"<playlist><trackList/></playlist><playlist/>", "not well-formed XML: junk after document", 1),
        (b"<playlist><title>&nbsp;</title></playlist>", "not well-formed XML: undefined entity", 1),
        (b'<?xml version="1.0" encoding="x-unknown"?><playlist/>', "XML", None),
        (
            b'<?xml version="1.0" encoding="UTF-8"?><playlist><title>\xff</title></playlist>',
            "not well-formed",
            1,
        ),
    ],
)
def test_broken_files_and_other_formats_are_refused(data: bytes, message: str, line: int | None) -> None:
    with pytest.raises(FormatError) as raised:
        _read(data)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    if line is not None:
        assert raised.value.line == line


def test_more_than_max_entries_tracks_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xspf, "MAX_ENTRIES", 3)
    assert len(_tracks(_playlist("<track><title>T</title></track>" * 3))) == 3
    with pytest.raises(FormatError, match="more than 3 tracks"):
        _read(_playlist("<track><title>T</title></track>" * 4))


# --- Writing ------------------------------------------------------------------------------------------------


def test_the_writer_writes_the_example_as_xspf_and_our_extras_in_our_extension() -> None:
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
    text = _write(PlaylistInfo("Road Trip", "For the car"), [track]).decode()
    assert text.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<playlist version="1" xmlns="http://xspf.org/ns/0/"'
    )
    assert f"<identifier>https://musicbrainz.org/recording/{TEARDROP_MBID}</identifier>" in text
    assert f"<identifier>https://open.spotify.com/track/{SPOTIFY_ID}</identifier>" in text
    assert "<identifier>isrc:GBAAA9800006</identifier>" in text
    assert '<extension application="https://playlist-manager.invalid/xspf">' in text
    assert '<pm:providerId provider="apple">1440</pm:providerId>' in text
    assert "<pm:explicit>false</pm:explicit>" in text and "spotify</pm:providerId>" not in text
    assert _tracks(text.encode()) == [track]
    # Well-formed, with the names in their namespaces, for any XML reader.
    root = fromstring(text.encode())
    assert root.find("{http://xspf.org/ns/0/}trackList/{http://xspf.org/ns/0/}track") is not None


def test_characters_xml_cannot_hold_are_dropped_and_a_carriage_return_is_kept() -> None:
    written = FileTrack("a\x00b\x1f\ufffec\ud800d\re", ("x\x0by",), provider_ids={"x\x01": "\x02z"})
    data = _write(PlaylistInfo("N\x07ame", "one\r\ntwo"), [written])
    assert _read(data) == [
        PlaylistStart(),
        PlaylistInfo("Name", "one\r\ntwo"),
        Entry(FileTrack("abcd\re", ("xy",), provider_ids={"x": "z"})),
    ]


def test_the_writer_writes_each_track_before_taking_the_next() -> None:
    out = io.BytesIO()

    def tracks() -> Iterator[FileTrack]:
        for index in range(1000):
            # Every track taken so far is already written out.
            assert out.getvalue().count(b"</track>") == index
            yield FileTrack(f"T{index}")

    write_xspf(PlaylistInfo("P"), tracks(), out)
    assert len(_tracks(out.getvalue())) == 1000


def test_an_empty_playlist_round_trips() -> None:
    assert _read(_write(PlaylistInfo(""), [])) == [PlaylistStart(), PlaylistInfo("")]


# --- Round trip ---------------------------------------------------------------------------------------------

NASTY = [
    '"',
    "'",
    ",",
    "<&>",
    "]]>",
    "&amp;",
    "\n",
    "\r\n",
    "\r",
    "\t",
    " padded ",
    "#EXTM3U",
    "=HYPERLINK()",
    "\ufeff",
    "\u2028",
    "\x00\x01",
    "\ufffe\uffff",
    "Беларусь",
    "東京",
    "🎵",
    "<?xml?>",
    "<!-- -->",
    "<![CDATA[x]]>",
]
texts = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc"))),
    st.sampled_from(NASTY),
    st.lists(st.sampled_from(NASTY), max_size=4).map("".join),
)
titles = texts.filter(lambda text: xml_text(text).strip() != "")
artist_names = texts.filter(lambda text: ", " not in text)
locations = st.one_of(
    texts,
    st.sampled_from(
        [
            "file:///music/teardrop.flac",
            f"spotify:track:{SPOTIFY_ID}",
            f"https://open.spotify.com/episode/{SPOTIFY_ID}",
            "spotify:local:Massive+Attack:Mezzanine:Teardrop:331",
            "https://www.deezer.com/track/3135556",
            "https://radio.example.net/stream?a=1&b=2",
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
    title=titles,
    artists=st.lists(artist_names, max_size=3).map(tuple),
    album=st.none() | texts,
    duration_ms=st.none() | st.integers(-5, 10**12),
    isrc=st.none() | isrcs,
    explicit=st.none() | st.booleans(),
    provider_ids=provider_ids,
    location=st.none() | locations,
    mbid=st.none() | st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper()) | texts,
    added_at=st.none() | datetimes,
    media_type=st.sampled_from(get_args(MediaType)),
)
infos = st.builds(PlaylistInfo, name=texts, description=st.none() | texts)


def _clean(text: str) -> str:
    return xml_text(text).strip()


def kept_by_xspf(track: FileTrack) -> FileTrack:
    """What an XSPF file keeps of ``track``: XML 1.0's characters, text without the whitespace around it,
    artists as ``creator`` splits, well-formed ids, and provider ids a location URL says too."""
    location = _clean(track.location) if track.location is not None else ""
    provider_ids = uri_facts([location] if location else [], []).provider_ids
    provider_ids.update({xml_text(name): xml_text(value) for name, value in track.provider_ids.items()})
    return FileTrack(
        title=_clean(track.title),
        artists=artists_from_creator(_clean(creator_from_artists(track.artists))),
        album=(_clean(track.album) or None) if track.album is not None else None,
        duration_ms=track.duration_ms if track.duration_ms is not None and track.duration_ms >= 0 else None,
        isrc=clean_isrc(track.isrc.strip()) if track.isrc is not None else None,
        explicit=track.explicit,
        provider_ids=provider_ids,
        location=location or None,
        mbid=normal_mbid(track.mbid) if track.mbid is not None else None,
        added_at=aware(track.added_at) if track.added_at is not None else None,
        media_type=track.media_type,
    )


@settings(derandomize=True, deadline=None, max_examples=50)
@given(infos, st.lists(tracks, max_size=6))
def test_written_playlists_read_back_as_xspf_keeps_them(info: PlaylistInfo, written: list[FileTrack]) -> None:
    items = _read(_write(info, iter(written)))
    description = _clean(info.description) if info.description is not None else ""
    assert items == [
        PlaylistStart(),
        PlaylistInfo(_clean(info.name), description or None),
        *(Entry(kept_by_xspf(track)) for track in written),
    ]


# --- Fuzz ---------------------------------------------------------------------------------------------------


def _read_or_refuse(data: bytes) -> None:
    refusal = ""
    try:
        for item in read_xspf(io.BytesIO(data)):
            assert isinstance(item, PlaylistStart | PlaylistInfo | Entry | Skipped)
    except FormatError as error:
        refusal = str(error)
    assert "\n" not in refusal


VALID = _write(
    PlaylistInfo("Road Trip", "desc"),
    [
        TEARDROP,
        FileTrack(
            "T",
            ("A", "B"),
            isrc="GBAAA9800006",
            explicit=True,
            provider_ids={"spotify": SPOTIFY_ID, "x": "y"},
        ),
    ],
)


@st.composite
def mutations(draw: st.DrawFn, original: bytes) -> bytes:
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = draw(st.sampled_from(list(b'<>&;/"=!?[]-\x00\xff\xc3 ')) | st.integers(0, 255))
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


# --- 100,000 tracks -----------------------------------------------------------------------------------------


def _generated_xspf(tracks: int) -> Iterator[bytes]:
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n<playlist version="1" xmlns="http://xspf.org/ns/0/">'
    yield b"<title>Big</title><trackList>\n"
    for index in range(tracks):
        yield (
            f"<track><location>file:///music/{index}.flac</location><title>Track {index}</title>"
            f"<creator>A</creator><duration>{index}</duration></track>\n"
        ).encode()
    yield b"</trackList></playlist>\n"


def test_max_entries_tracks_are_read_one_at_a_time() -> None:
    stream = GeneratedStream(_generated_xspf(MAX_ENTRIES))
    items = read_xspf(io.BufferedReader(stream))
    assert next(items) == PlaylistStart()
    assert next(items) == PlaylistInfo("Big")
    assert next(items) == Entry(FileTrack("Track 0", ("A",), duration_ms=0, location="file:///music/0.flac"))
    assert not stream.exhausted
    entries = 1 + sum(1 for item in items if isinstance(item, Entry))
    assert entries == MAX_ENTRIES and stream.exhausted
