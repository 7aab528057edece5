"""The JSON plumbing: an array laid out one element a line (as our writers write it) is read by the standard
library's decoder a line at a time, and that gives exactly what ijson alone gives (the same items, the
same errors), whatever the lines hold and whatever the size of the chunks the file is read in."""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_formats import FileTrack, FormatError, Item, PlaylistInfo, json_stream
from pm_formats.jspf import read_jspf, write_jspf
from pm_formats.lossless import read_lossless, write_lossless_one
from pm_formats.spotify_export import read_spotify_playlists

from .test_lossless import mutate, tracks

Reader = Callable[[io.BytesIO], Iterator[Item]]

# Lines that the line decoder must leave to ijson (or read exactly as ijson does).
TRICKY_LINES = [
    "",
    "   ",
    "]",
    ",",
    "null,",
    '"a string",',
    "[1, 2.50, -0, 1e400],",
    '{"title": NaN},',
    '{"title": "lone \\ud800 surrogate"},',
    '{"title": "a pair \\ud83d\\ude00"},',
    '{"title": "escaped \\\\ud800"},',
    '{"title": "control \x01 character"},',
    '{"title": "tab\tinside"},',
    '{"title": "x", "title": "duplicate"},',
    '{"title": "ends on the next line",',
    '"duration_ms": 5},',
    '{"duration_ms": ' + "9" * 4000 + "},",
    '{"title": "a"}, {"title": "two on a line"},',
    "[" * 40 + "]" * 40 + ",",
    '{"title": "vertical\x0btab as a blank"} ,',
    '  {"title": "indented"}  ,  ',
    '{"title": "trailing"} garbage',
    "\xff\xfe not UTF-8",
]


def _outcome(read: Reader, data: bytes) -> list[str]:
    """What a reader gives: its items, then the error that ended them, if any."""
    taken: list[str] = []
    try:
        for item in read(io.BytesIO(data)):
            taken.append(repr(item))
    except FormatError as error:
        taken.append(f"FormatError: {error}")
    return taken


def _ijson_alone(read: Reader, data: bytes) -> list[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_stream, "decode_line", lambda line: json_stream.NOT_DECODED)
        return _outcome(read, data)


def _with_lines_changed(data: bytes, rnd: random.Random, changes: int) -> bytes:
    lines = data.decode("utf-8").split("\n")
    for _ in range(changes):
        lines[rnd.randrange(len(lines))] = rnd.choice(TRICKY_LINES)
    separator = "\r\n" if rnd.random() < 0.2 else "\n"
    return separator.join(lines).encode("utf-8", errors="surrogateescape")


def _lossless(written: list[FileTrack]) -> bytes:
    out = io.StringIO()
    write_lossless_one(PlaylistInfo("P", "d"), written, out)
    return out.getvalue().encode()


def _jspf(written: list[FileTrack]) -> bytes:
    out = io.StringIO()
    write_jspf(PlaylistInfo("P", "d"), written, out)
    return out.getvalue().encode()


FILES: dict[str, tuple[Callable[[list[FileTrack]], bytes], Reader]] = {
    "lossless": (_lossless, read_lossless),
    "jspf": (_jspf, read_jspf),
}


@settings(derandomize=True, deadline=None, max_examples=150)
@given(
    st.sampled_from(sorted(FILES)),
    st.lists(tracks, max_size=8),
    st.randoms(use_true_random=False),
    st.integers(0, 4),
    st.integers(0, 3),
    st.sampled_from([1, 7, 64, 4096]),
)
def test_the_line_decoder_reads_as_ijson_alone(
    kind: str,
    written: list[FileTrack],
    rnd: random.Random,
    changed_lines: int,
    mutated_bytes: int,
    chunk_bytes: int,
) -> None:
    write, read = FILES[kind]
    data = _with_lines_changed(write(written), rnd, changed_lines)
    if mutated_bytes:
        data = mutate(data, rnd, mutated_bytes)
    expected = _ijson_alone(read, data)
    assert _outcome(read, data) == expected
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_stream, "_CHUNK_BYTES", chunk_bytes)
        assert _outcome(read, data) == expected


@pytest.mark.parametrize("line", TRICKY_LINES)
@pytest.mark.parametrize("chunk_bytes", [1, 100, 65536])
def test_each_tricky_line_among_entries_reads_as_ijson_alone(line: str, chunk_bytes: int) -> None:
    written = [FileTrack(f"Track {index}", ("A",)) for index in range(3)]
    lines = _lossless(written).decode().split("\n")
    lines.insert(3, line)  # between the first and the second entry
    data = "\n".join(lines).encode("utf-8", errors="surrogateescape")
    expected = _ijson_alone(read_lossless, data)
    # Small chunks: the parser is fed a line at a time, so the line decoder takes over after the "[".
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_stream, "_CHUNK_BYTES", chunk_bytes)
        assert _outcome(read_lossless, data) == expected


def test_our_files_are_read_a_line_at_a_time() -> None:
    built: list[Any] = []
    original_build = json_stream.build

    def counting_build(event: str, value: Any, events: Iterator[json_stream.Event]) -> Any:
        built.append(event)
        return original_build(event, value, events)

    data = _lossless([FileTrack(f"Track {index}", ("A",), duration_ms=index) for index in range(5_000)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(json_stream, "build", counting_build)
        items = _outcome(read_lossless, data)
    assert len(items) == 5_002
    # Only the entries in the first chunk the parser was fed are built from ijson's events.
    assert len(built) < 500


@pytest.mark.parametrize(
    ("read", "data"),
    [
        (
            read_lossless,
            b'{"format": "playlist-manager", "version": 1, "playlists": [{"name": "P", "entries": [\n'
            b'{"title": "a", "duration_ms": ' + b"9" * 5000 + b"}\n]}]}",
        ),
        (read_lossless, b'{"format": "playlist-manager", "version": ' + b"1" * 5000 + b"}"),
        (read_jspf, b'{"playlist": {"track": [{"title": "a", "duration": ' + b"9" * 5000 + b"}]}}"),
        (read_spotify_playlists, b'{"playlists": [{"name": "P", "items": [' + b"9" * 5000 + b"]}]}"),
    ],
)
def test_a_number_too_long_for_python_is_a_format_error(read: Reader, data: bytes) -> None:
    # ijson's C backend leaves a broken event behind for it: reading on would crash the process.
    with pytest.raises(FormatError, match="not valid JSON"):
        list(read(io.BytesIO(data)))
