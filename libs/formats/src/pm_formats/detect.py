"""Which format a playlist file is, from its content: the first ``HEAD_BYTES`` are decoded as
:mod:`pm_formats.text` does (BOM, else UTF-8, else Latin-1) and shown to each format's ``sniff`` in this
order, most specific first:

1. ``lossless`` (``"format": "playlist-manager"``), 2. ``jspf`` (a ``"playlist"`` object),
3. ``spotify_playlists`` and 4. ``spotify_library`` (the Spotify data export), 5. ``itunes`` (a plist with
a library's keys), 6. ``xspf``, 7. ``exportify``, 8. ``takeout_playlist`` and 9. ``takeout_library``
(Google Takeout's CSVs: the library's header has "Song Title", or more than two columns), 10.
``generic_csv``, 11. ``m3u`` (any text with an ``#EXTINF`` line).

The file's name is a hint only: when several formats sniff, the first whose extension it has wins (else the
first in the order); when none does, an extension that names one format (``.m3u8``, ``.xspf``, ``.csv``…)
decides, so that an M3U without ``#EXTM3U`` is read, and a broken file gets its reader's error. Nothing else
is a :class:`FormatError`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import PureWindowsPath
from typing import Any, BinaryIO, Literal, get_args

from pm_formats import csv_files, itunes, jspf, lossless, m3u, spotify_export, xspf
from pm_formats.errors import FormatError
from pm_formats.model import FileTrack, Item, PlaylistInfo
from pm_formats.text import HEAD_BYTES, choose_encoding

Format = Literal[
    "m3u",
    "xspf",
    "jspf",
    "lossless",
    "exportify",
    "takeout_playlist",
    "takeout_library",
    "generic_csv",
    "spotify_playlists",
    "spotify_library",
    "itunes",
]
FORMATS: tuple[Format, ...] = get_args(Format)


def _is_takeout_library(head: str) -> bool:
    """Takeout's ``music library songs.csv`` rather than a playlist's videos: "Song Title" in the header,
    or (a localized header) more than the videos file's two columns, the pre-2023 playlist block aside."""
    header = next((line for line in head.splitlines() if line.strip(" ,\t")), "").lower()
    return "song title" in header or (header.count(",") >= 2 and not header.startswith("playlist id"))


def _sniff_takeout_playlist(head: str) -> bool:
    return csv_files.sniff_takeout(head) and not _is_takeout_library(head)


def _sniff_takeout_library(head: str) -> bool:
    return csv_files.sniff_takeout(head) and _is_takeout_library(head)


# The order of the module's docstring.
SNIFFERS: tuple[tuple[Format, Callable[[str], bool]], ...] = (
    ("lossless", lossless.sniff),
    ("jspf", jspf.sniff),
    ("spotify_playlists", spotify_export.sniff_playlists),
    ("spotify_library", spotify_export.sniff_library),
    ("itunes", itunes.sniff),
    ("xspf", xspf.sniff),
    ("exportify", csv_files.sniff_exportify),
    ("takeout_playlist", _sniff_takeout_playlist),
    ("takeout_library", _sniff_takeout_library),
    ("generic_csv", csv_files.sniff_generic_csv),
    ("m3u", m3u.sniff),
)

# The formats a file with this extension may be, for a tie.
_EXTENSION_FORMATS: dict[str, tuple[Format, ...]] = {
    ".m3u": ("m3u",),
    ".m3u8": ("m3u",),
    ".xspf": ("xspf",),
    ".jspf": ("jspf",),
    ".json": ("lossless", "jspf", "spotify_playlists", "spotify_library"),
    ".xml": ("itunes", "xspf"),
    ".csv": ("exportify", "takeout_playlist", "takeout_library", "generic_csv"),
    ".tsv": ("generic_csv",),
}
# The format of a file that nothing sniffs, by extension: only where the extension says it.
_EXTENSION_FALLBACK: dict[str, Format] = {
    ".m3u": "m3u",
    ".m3u8": "m3u",
    ".xspf": "xspf",
    ".jspf": "jspf",
    ".csv": "generic_csv",
    ".tsv": "generic_csv",
}

_DESCRIBED = (
    "M3U, XSPF, JSPF, a Playlist Manager file, an Exportify or Google Takeout CSV, a CSV with title and "
    "artist columns, the Spotify data export's Playlist1.json or YourLibrary.json, an iTunes Library.xml"
)


class _Replayed(io.RawIOBase):
    """``source`` with its ``head``, already read, in front again. Closing it leaves ``source`` open."""

    def __init__(self, head: bytes, source: BinaryIO) -> None:
        self._head = memoryview(head)
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        if self._head:
            size = min(len(target), len(self._head))
            target[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._source.read(len(target))
        target[: len(data)] = data
        return len(data)


def _read_head(source: BinaryIO) -> bytes:
    """The first ``HEAD_BYTES`` (fewer only at the end of the file), however short ``source``'s reads."""
    head = bytearray()
    while len(head) < HEAD_BYTES:
        chunk = source.read(HEAD_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return bytes(head)


def head_text(head: bytes) -> str:
    """A file's first bytes as text for the sniffers, decoded as :mod:`pm_formats.text` decodes the file,
    without its BOM (a character cut at the end becomes U+FFFD)."""
    encoding = choose_encoding(head, whole=len(head) < HEAD_BYTES)
    return head.decode(encoding, errors="replace").lstrip("\ufeff")


def _extension(filename: str | None) -> str:
    return PureWindowsPath(filename).suffix.lower() if filename else ""


def detect(source: BinaryIO, filename: str | None = None) -> tuple[Format, BinaryIO]:
    """The format of the file ``source`` holds, and a stream of the whole file to read it from (``source``
    itself is read past its head: read the returned stream, never ``source``). ``filename`` (a base name or
    path) breaks ties and names the format when nothing sniffs. Reads at most ``HEAD_BYTES``; blocks only
    as ``source.read`` does. Raises :class:`FormatError` for a file no reader here takes."""
    head = _read_head(source)
    stream = io.BufferedReader(_Replayed(head, source))
    text = head_text(head)
    matches = [name for name, sniff in SNIFFERS if sniff(text)]
    extension = _extension(filename)
    hinted = [name for name in matches if name in _EXTENSION_FORMATS.get(extension, ())]
    if hinted or matches:
        return (hinted or matches)[0], stream
    if extension in _EXTENSION_FALLBACK:
        return _EXTENSION_FALLBACK[extension], stream
    what = "an empty file" if not head else f"{_base_name(filename) or 'the file'} is none of {_DESCRIBED}"
    raise FormatError(f"not a playlist file this reads: {what}")


def _base_name(filename: str | None) -> str:
    return PureWindowsPath(filename).name if filename else ""


def playlist_name(filename: str | None, file_format: Format) -> str | None:
    """The playlist's name a file's name holds, for the formats that keep it there (Exportify's
    ``<name>.csv``, Takeout's ``<Title>-videos.csv``, a generic CSV); None for the others."""
    if not filename or file_format not in ("exportify", "takeout_playlist", "generic_csv"):
        return None
    stem = PureWindowsPath(filename).stem
    if file_format == "takeout_playlist" and stem.endswith("-videos"):
        stem = stem[: -len("-videos")]
    return stem or None


def _reader(file_format: Format, name: str | None) -> Callable[[BinaryIO], Iterator[Item]]:
    if file_format == "exportify":
        return lambda source: csv_files.read_exportify(source, name)
    if file_format == "takeout_playlist":
        return lambda source: csv_files.read_takeout_playlist(source, name)
    if file_format == "generic_csv":
        return lambda source: csv_files.read_generic_csv(source, name)
    readers: dict[Format, Callable[[BinaryIO], Iterator[Item]]] = {
        "m3u": m3u.read_m3u,
        "xspf": xspf.read_xspf,
        "jspf": jspf.read_jspf,
        "lossless": lossless.read_lossless,
        "takeout_library": csv_files.read_takeout_music_library,
        "spotify_playlists": spotify_export.read_spotify_playlists,
        "spotify_library": spotify_export.read_spotify_library,
        "itunes": itunes.read_itunes,
    }
    return readers[file_format]


def read(source: BinaryIO, filename: str | None = None) -> Iterator[Item]:
    """The items of the file ``source`` holds, whatever its format (:func:`detect`), lazily, by that
    format's reader; the playlist's name from ``filename`` where the format keeps it there. Raises
    :class:`FormatError` only (detection happens at the first item)."""
    file_format, stream = detect(source, filename)
    yield from read_as(file_format, stream, filename)


def read_as(file_format: Format, stream: BinaryIO, filename: str | None = None) -> Iterator[Item]:
    """The items of ``stream`` read as ``file_format`` (what :func:`detect` said of it, with the stream
    it handed back): for a caller that wants the format too, without detecting twice."""
    yield from _reader(file_format, playlist_name(filename, file_format))(stream)


WritableFormat = Literal["m3u", "xspf", "jspf", "lossless", "exportify"]


@dataclass(frozen=True, slots=True)
class Writer:
    """A writable format: its writer, and the file's extension and MIME type."""

    extension: str
    media_type: str
    # One of the two is set: the format's writer of text, or of bytes.
    write_text: Callable[[PlaylistInfo, Iterable[FileTrack], Any], None] | None = None
    write_bytes: Callable[[PlaylistInfo, Iterable[FileTrack], BinaryIO], None] | None = None

    def write(self, info: PlaylistInfo, tracks: Iterable[FileTrack], out: BinaryIO) -> None:
        """Write the playlist as UTF-8 bytes to ``out``, streaming (``tracks`` is iterated once); ``out``
        is left open."""
        if self.write_bytes is not None:
            self.write_bytes(info, tracks, out)
            return
        assert self.write_text is not None
        # newline="": the writers choose their line endings (the csv module writes "\r\n").
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        try:
            self.write_text(info, tracks, text)
            text.flush()
        finally:
            text.detach()


WRITERS: dict[WritableFormat, Writer] = {
    "m3u": Writer(".m3u8", "audio/x-mpegurl", write_text=m3u.write_m3u),
    "xspf": Writer(".xspf", "application/xspf+xml", write_bytes=xspf.write_xspf),
    "jspf": Writer(".jspf", "application/json", write_text=jspf.write_jspf),
    "lossless": Writer(".json", "application/json", write_text=lossless.write_lossless_one),
    "exportify": Writer(".csv", "text/csv", write_text=csv_files.write_exportify),
}
