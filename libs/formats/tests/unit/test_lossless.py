"""Playlist Manager's own file: written and read back without loss, several playlists per file, checked
against its JSON Schema; a tolerant reader (unknown members ignored, a wrong type skips the entry) that
refuses other formats and versions; streaming both ways."""

from __future__ import annotations

import codecs
import io
import json
import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
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
    lossless,
)
from pm_formats.limits import MAX_ENTRIES
from pm_formats.lossless import read_lossless, sniff, write_lossless, write_lossless_one

from .streams import GeneratedStream

SCHEMA_PATH = Path(__file__).resolve().parents[4] / "proto" / "files" / "playlist-file.v1.json"

EXAMPLE = """{"format": "playlist-manager", "version": 1, "playlists": [
{"name": "Road Trip", "description": null, "entries": [
{"title": "Teardrop", "artists": ["Massive Attack"], "album": "Mezzanine", "duration_ms": 331000,
 "isrc": "GBAAA9800006", "explicit": false, "provider_ids": {"spotify": "0000000000000000000001"},
 "location": null, "mbid": "00000000-0000-4000-8000-000000000001",
 "added_at": "2026-05-01T10:00:00+00:00", "media_type": "track"}
]}
]}
"""

TEARDROP = FileTrack(
    title="Teardrop",
    artists=("Massive Attack",),
    album="Mezzanine",
    duration_ms=331000,
    isrc="GBAAA9800006",
    explicit=False,
    provider_ids={"spotify": "0000000000000000000001"},
    mbid="00000000-0000-4000-8000-000000000001",
    added_at=datetime(2026, 5, 1, 10, tzinfo=UTC),
)

NASTY = [
    '"',
    "'",
    ",",
    "<&>",
    "\n",
    "\r\n",
    "\\",
    "#EXTM3U",
    "=HYPERLINK()",
    "\ufeff",
    "\u2028",
    "\x00",
    "Беларусь",
    "東京",
    "🎵",
    "",
    '{"format": "playlist-manager"}',
]
# JSON escapes control characters, so the lossless file takes every character but lone surrogates.
texts = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",))),
    st.sampled_from(NASTY),
    st.lists(st.sampled_from(NASTY), max_size=4).map("".join),
)
offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
datetimes = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets)
tracks = st.builds(
    FileTrack,
    title=texts,
    artists=st.lists(texts, max_size=3).map(tuple),
    album=st.none() | texts,
    duration_ms=st.none() | st.integers(0, 10**12),
    isrc=st.none() | st.from_regex(r"\A[A-Z]{2}[A-Z0-9]{3}[0-9]{7}\Z"),
    explicit=st.none() | st.booleans(),
    provider_ids=st.dictionaries(
        st.sampled_from(["spotify", "deezer", "tidal", "youtube"]) | texts, texts, max_size=4
    ),
    location=st.none() | texts,
    mbid=st.none() | st.uuids().map(str) | texts,
    added_at=st.none() | datetimes,
    media_type=st.sampled_from(get_args(MediaType)),
)
infos = st.builds(PlaylistInfo, name=texts, description=st.none() | texts)
playlists = st.lists(st.tuples(infos, st.lists(tracks, max_size=5)), max_size=4)


def _write(playlists: Iterable[tuple[PlaylistInfo, Iterable[FileTrack]]]) -> bytes:
    out = io.StringIO()
    write_lossless(playlists, out)
    return out.getvalue().encode("utf-8")


def _read(data: bytes) -> list[Item]:
    return list(read_lossless(io.BytesIO(data)))


def _playlists(items: Iterable[Item]) -> list[tuple[PlaylistInfo | None, list[FileTrack | str]]]:
    """The items regrouped per playlist (a Skipped as its reason)."""
    grouped: list[tuple[PlaylistInfo | None, list[FileTrack | str]]] = []
    info: PlaylistInfo | None = None
    for item in items:
        if isinstance(item, PlaylistStart):
            if grouped:
                grouped[-1] = (info, grouped[-1][1])
            grouped.append((None, []))
            info = None
        elif isinstance(item, PlaylistInfo):
            assert info is None, "one PlaylistInfo per playlist"
            info = item
        elif isinstance(item, Entry):
            grouped[-1][1].append(item.track)
        else:
            grouped[-1][1].append(item.reason)
    if grouped:
        grouped[-1] = (info, grouped[-1][1])
    return grouped


def _document(*entries: Any, **playlist: Any) -> bytes:
    body = {
        "format": "playlist-manager",
        "version": 1,
        "playlists": [{"name": "P", **playlist, "entries": list(entries)}],
    }
    return json.dumps(body).encode()


# --- Round trips --------------------------------------------------------------------------------------------


@settings(derandomize=True, deadline=None, max_examples=50)
@given(playlists)
def test_written_playlists_read_back_without_loss(
    written: list[tuple[PlaylistInfo, list[FileTrack]]],
) -> None:
    assert _playlists(_read(_write(written))) == [(info, list(tracks)) for info, tracks in written]


@settings(derandomize=True, deadline=None, max_examples=50)
@given(infos, st.lists(tracks, max_size=5))
def test_one_playlist_reads_back_without_loss(info: PlaylistInfo, written: list[FileTrack]) -> None:
    out = io.StringIO()
    write_lossless_one(info, iter(written), out)
    assert _playlists(_read(out.getvalue().encode())) == [(info, written)]


@settings(derandomize=True, deadline=None, max_examples=50)
@given(playlists)
def test_written_files_are_valid_against_the_schema(
    written: list[tuple[PlaylistInfo, list[FileTrack]]],
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(json.loads(_write(written)))


def test_the_schema_is_a_valid_schema_naming_every_field_the_writer_writes() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    [playlist] = json.loads(_write([(PlaylistInfo("P"), [TEARDROP])]))["playlists"]
    assert set(playlist) == set(schema["$defs"]["playlist"]["properties"])
    assert set(playlist["entries"][0]) == set(schema["$defs"]["entry"]["properties"])
    assert schema["$defs"]["playlist"]["properties"]["entries"]["maxItems"] == MAX_ENTRIES


def test_the_documented_example_reads() -> None:
    assert _playlists(_read(EXAMPLE.encode())) == [(PlaylistInfo("Road Trip"), [TEARDROP])]


def test_the_writer_puts_one_entry_per_line() -> None:
    text = _write(
        [
            (PlaylistInfo("A"), [TEARDROP, TEARDROP]),
            (PlaylistInfo("Empty"), []),
            (PlaylistInfo("B"), [TEARDROP]),
        ]
    )
    lines = text.decode().splitlines()
    assert lines[0] == '{"format": "playlist-manager", "version": 1, "playlists": ['
    assert sum(line.startswith('{"title": ') for line in lines) == 3
    assert _write([]) == b'{"format": "playlist-manager", "version": 1, "playlists": []}\n'
    assert _read(_write([])) == []


def test_a_time_without_a_zone_is_written_as_utc() -> None:
    naive = FileTrack("T", added_at=datetime(2026, 1, 1, 12))
    [_, _, entry] = _read(_write([(PlaylistInfo("P"), [naive])]))
    assert isinstance(entry, Entry) and entry.track.added_at == datetime(2026, 1, 1, 12, tzinfo=UTC)


# --- A tolerant reader --------------------------------------------------------------------------------------


def test_name_and_description_may_come_after_the_entries() -> None:
    data = b"""{"format": "playlist-manager", "version": 1, "playlists": [
      {"entries": [{"title": "T"}], "description": "late", "name": "Late"},
      {"name": "Early", "description": null, "entries": [{"title": "U"}]},
      {"entries": [], "name": "No description"}]}"""
    items = _read(data)
    assert items == [
        PlaylistStart(),
        Entry(FileTrack("T")),
        PlaylistInfo("Late", "late"),
        PlaylistStart(),
        PlaylistInfo("Early"),
        Entry(FileTrack("U")),
        PlaylistStart(),
        PlaylistInfo("No description"),
    ]


def test_unknown_members_are_ignored_everywhere() -> None:
    data = b"""{"generator": {"name": "x", "nested": [[{}]]}, "format": "playlist-manager", "version": 1,
      "playlists": [{"name": "P", "colour": "red", "entries": [
        {"title": "T", "rating": 5, "extra": {"a": [1, 2, {"b": null}]}, "media_type": "video"}]}],
      "more": [1, 2, 3]}"""
    assert _playlists(_read(data)) == [(PlaylistInfo("P"), [FileTrack("T", media_type="unknown")])]


def test_a_minimal_entry_has_the_defaults() -> None:
    assert _playlists(
        _read(_document({"title": "T"}, {"title": "U", "artists": None, "provider_ids": None}))
    ) == [(PlaylistInfo("P"), [FileTrack("T"), FileTrack("U")])]


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"artists": ["A"]}, "title"),
        ({"title": None}, "title"),
        ({"title": 3}, "title"),
        ({"title": "T", "artists": "A"}, "artists"),
        ({"title": "T", "artists": ["A", 1]}, "artists"),
        ({"title": "T", "artists": ""}, "artists"),
        ({"title": "T", "provider_ids": 0}, "provider_ids"),
        ({"title": "T", "album": ["x"]}, "album"),
        ({"title": "T", "duration_ms": "331000"}, "duration_ms"),
        ({"title": "T", "duration_ms": 1.5}, "duration_ms"),
        ({"title": "T", "duration_ms": -1}, "duration_ms"),
        ({"title": "T", "duration_ms": True}, "duration_ms"),
        ({"title": "T", "isrc": 12}, "isrc"),
        ({"title": "T", "explicit": "yes"}, "explicit"),
        ({"title": "T", "explicit": 1}, "explicit"),
        ({"title": "T", "provider_ids": ["spotify"]}, "provider_ids"),
        ({"title": "T", "provider_ids": {"deezer": 3135556}}, "provider_ids"),
        ({"title": "T", "location": {}}, "location"),
        ({"title": "T", "mbid": 1}, "mbid"),
        ({"title": "T", "added_at": "yesterday"}, "added_at"),
        ({"title": "T", "added_at": "2026-05-01T10:00:00"}, "added_at"),
        ({"title": "T", "added_at": 1767225600}, "added_at"),
        ({"title": "T", "media_type": 1}, "media_type"),
    ],
)
def test_a_wrong_type_skips_the_entry_naming_the_field(entry: dict[str, Any], field: str) -> None:
    [(_, [reason, track])] = _playlists(_read(_document(entry, {"title": "next"})))
    assert isinstance(reason, str) and f'"{field}"' in reason and "entry 1" in reason
    assert track == FileTrack("next")


@pytest.mark.parametrize("entry", [None, 1, "Teardrop", ["Teardrop"], True])
def test_an_entry_that_is_not_an_object_is_skipped(entry: Any) -> None:
    [(_, [reason, track])] = _playlists(_read(_document(entry, {"title": "next"})))
    assert isinstance(reason, str) and "not an object" in reason
    assert track == FileTrack("next")


@pytest.mark.parametrize(
    ("isrc", "kept"),
    [("GBAAA9800006", "GBAAA9800006"), ("gb-aaa-98-00006", "GBAAA9800006"), ("GBAAA98", None), ("", None)],
)
def test_isrcs_are_normalised_or_dropped(isrc: str, kept: str | None) -> None:
    [(_, [track])] = _playlists(_read(_document({"title": "T", "isrc": isrc})))
    assert track == FileTrack("T", isrc=kept)


@pytest.mark.parametrize(
    "prefix", [codecs.BOM_UTF8, b"", b" \r\n\t"], ids=["utf-8 bom", "no bom", "leading whitespace"]
)
def test_a_byte_order_mark_and_leading_whitespace_are_read(prefix: bytes) -> None:
    assert _playlists(_read(prefix + EXAMPLE.encode())) == [(PlaylistInfo("Road Trip"), [TEARDROP])]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_with_a_byte_order_mark_is_read(encoding: str) -> None:
    data = EXAMPLE.replace("Road Trip", "Route 66 — été 東京").encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    assert _playlists(_read(data)) == [(PlaylistInfo("Route 66 — été 東京"), [TEARDROP])]


# --- Refused files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not valid JSON"),
        (b"[]", "not a playlist-manager file"),
        (b'"playlist-manager"', "not a playlist-manager file"),
        (b'{"format": "jspf", "version": 1, "playlists": []}', '"format" is "jspf"'),
        (b'{"format": {"name": "playlist-manager"}, "version": 1, "playlists": []}', '"format" is an object'),
        (b'{"format": "playlist-manager", "version": 2, "playlists": []}', "version 2"),
        (b'{"format": "playlist-manager", "version": "1", "playlists": []}', 'version "1"'),
        (b'{"format": "playlist-manager", "version": 1.0, "playlists": []}', "version 1.0"),
        (b'{"format": "playlist-manager", "version": [1], "playlists": []}', "version an array"),
        (b'{"playlists": [], "format": "playlist-manager", "version": 1}', 'no "format" before "playlists"'),
        (b'{"format": "playlist-manager", "playlists": []}', 'without "version"'),
        (b'{"format": "playlist-manager", "version": 1}', 'without "playlists"'),
        (b'{"version": 1}', 'no "format"'),
        (b'{"format": "playlist-manager", "version": 1, "playlists": {}}', "not an array"),
        (b'{"format": "playlist-manager", "version": 1, "playlists": [1]}', "playlist 1 is not an object"),
        (b'{"format": "playlist-manager", "version": 1, "playlists": [{"entries": {}}]}', "not an array"),
        (b'{"format": "playlist-manager", "version": 1, "playlists": [{"entries": []}]}', '"name" is null'),
        (b'{"format": "playlist-manager", "version": 1, "playlists": [{"name": 1}]}', '"name" is 1'),
        (
            b'{"format": "playlist-manager", "version": 1, "playlists": [{"name": "P", "description": []}]}',
            '"description" is an array',
        ),
        (b'{"format": "playlist-manager", "version": 1, "playlists": []} {}', "not valid JSON"),
        (b'{"format": "playlist-manager", "version": 1, "playlists": [', "not valid JSON"),
        (b'{"format": "playlist-manager", "version": 1, "playlists": ["\xff"]}', "not valid JSON"),
        ("{}".encode("utf-16-le"), "not valid JSON"),
        (codecs.BOM_UTF16_LE + b"{\x00\x00\xd8}\x00", "not valid JSON"),
    ],
)
def test_files_that_are_not_ours_or_broken_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(FormatError) as error:
        _read(data)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_another_format_is_refused_before_any_item() -> None:
    items = read_lossless(io.BytesIO(b'{"format": "other", "playlists": [{"name": "P", "entries": []}]}'))
    with pytest.raises(FormatError):
        next(items)


def test_more_than_max_entries_in_a_playlist_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lossless, "MAX_ENTRIES", 3)
    assert len(_read(_document(*[{"title": "T"}] * 3))) == 5
    with pytest.raises(FormatError, match="more than 3 entries"):
        _read(_document(*[{"title": "T"}] * 4))


def test_deeply_nested_values_are_skipped_or_refused_without_recursion() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    data = _document({"title": "T"}).replace(
        b'{"title": "T"}', b'{"title": "T", "x": ' + deep + b"}, " + deep
    )
    try:
        items = _read(data)
    except FormatError:
        return
    assert _playlists(items)[0][1][0] == FileTrack("T")


# --- Streaming ----------------------------------------------------------------------------------------------


def _generated_file(entries: int) -> Iterator[bytes]:
    yield b'{"format": "playlist-manager", "version": 1, "playlists": [{"name": "Big", "entries": ['
    for index in range(entries):
        entry = {"title": f"Track {index}", "artists": ["A"], "isrc": "GBAAA9800006", "duration_ms": index}
        yield (",\n" if index else "\n").encode() + json.dumps(entry).encode()
    yield b"\n]}]}\n"


def test_a_file_of_max_entries_is_read_lazily() -> None:
    source = io.BufferedReader(GeneratedStream(_generated_file(MAX_ENTRIES)))
    counts = {"entries": 0, "other": 0}
    for item in read_lossless(source):
        counts["entries" if isinstance(item, Entry) else "other"] += 1
    assert counts == {"entries": MAX_ENTRIES, "other": 2}


class _LineCounter(io.StringIO):
    """A sink that keeps only how many lines were written."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


def test_the_writer_streams_each_track_out_before_taking_the_next() -> None:
    sink = _LineCounter()

    def tracks() -> Iterator[FileTrack]:
        for index in range(MAX_ENTRIES):
            # Track i is asked for only after track i - 1 went out (each entry's line begins with "\n").
            assert sink.lines >= index + 1
            yield FileTrack(f"Track {index}", ("A",), duration_ms=index)

    write_lossless_one(PlaylistInfo("Big"), tracks(), sink)
    assert sink.lines == MAX_ENTRIES + 4


# --- Fuzz ---------------------------------------------------------------------------------------------------


def _read_or_format_error(data: bytes) -> list[Item]:
    try:
        return _read(data)
    except FormatError:
        return []


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.binary(max_size=2000))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    _read_or_format_error(data)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.text(max_size=2000))
def test_fuzz_arbitrary_text(text: str) -> None:
    _read_or_format_error(text.encode("utf-8", errors="surrogatepass"))


@settings(derandomize=True, deadline=None, max_examples=75)
@given(playlists, st.randoms(use_true_random=False), st.integers(1, 8))
def test_fuzz_mutated_valid_files(
    written: list[tuple[PlaylistInfo, list[FileTrack]]], rnd: random.Random, mutations: int
) -> None:
    _read_or_format_error(mutate(_write(written), rnd, mutations))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
entry_members = st.dictionaries(
    st.sampled_from(
        [
            "title",
            "artists",
            "album",
            "duration_ms",
            "isrc",
            "explicit",
            "provider_ids",
            "location",
            "mbid",
            "added_at",
            "media_type",
            "x",
        ]
    ),
    json_values,
)


@settings(derandomize=True, deadline=None, max_examples=75)
@given(st.lists(json_values | entry_members, max_size=5))
def test_fuzz_any_json_as_entries_is_taken_or_skipped_never_an_error(entries: list[Any]) -> None:
    [(_, taken)] = _playlists(_read(_document(*entries)))
    assert len(taken) == len(entries)


def mutate(data: bytes, rnd: random.Random, mutations: int) -> bytes:
    """``data`` with a few bytes deleted, inserted, replaced or duplicated (JSON's own bytes favoured)."""
    buffer = bytearray(data)
    for _ in range(mutations):
        position = rnd.randrange(len(buffer) + 1)
        operation = rnd.choice(["delete", "insert", "replace", "duplicate"])
        inserted = rnd.choice(
            [b'"', b"{", b"}", b"[", b"]", b",", b":", b"\\", b"\x00", b"\xff", b"1e999", b"null"]
        )
        if operation == "delete":
            del buffer[position : position + rnd.randint(1, 8)]
        elif operation == "insert":
            buffer[position:position] = inserted
        elif operation == "replace":
            buffer[position : position + 1] = inserted
        else:
            buffer[position:position] = buffer[position : position + rnd.randint(1, 40)]
    return bytes(buffer)


# --- Sniffing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "head",
    [EXAMPLE, "\ufeff" + EXAMPLE, '  {\n  "format" :  "playlist-manager", "version": 1', _write([]).decode()],
)
def test_sniff_knows_our_files(head: str) -> None:
    assert sniff(head)


@pytest.mark.parametrize(
    "head",
    [
        "",
        '{"playlist": {"title": "playlist-manager"}}',
        '{"format": "other", "note": "playlist-manager"}',
        '["format", "playlist-manager"]',
        '#EXTM3U\n#EXTINF:1,"format": "playlist-manager"',
        '{"playlists":[{"name":"Gym","lastModifiedDate":"2026-01-02","items":[]}]}',
    ],
)
def test_sniff_refuses_other_files(head: str) -> None:
    assert not sniff(head)
