"""Playlist Manager's own file: everything the system knows of playlists and their tracks, several playlists
per file, read back without loss. JSON (UTF-8), version 1; its JSON Schema is
``proto/files/playlist-file.v1.json``::

    {"format": "playlist-manager", "version": 1, "playlists": [
    {"name": "Road Trip", "description": null, "entries": [
    {"title": "Teardrop", "artists": ["Massive Attack"], "album": "Mezzanine", "duration_ms": 331000,
     "isrc": "GBAAA9800006", "explicit": false, "provider_ids": {"spotify": "0000000000000000000001"},
     "location": null, "mbid": "00000000-0000-4000-8000-000000000001",
     "added_at": "2026-05-01T10:00:00+00:00", "media_type": "track"}
    ]}
    ]}

(the writer puts each entry on one line). ``"format"`` and ``"version"`` come before ``"playlists"``: the
reader is streaming, so it refuses a file before taking anything from it, not after. A playlist's ``"name"``
and ``"description"`` may come before or after its ``"entries"``. Readers ignore members they do not know
(a later writer may add some); an entry whose known member has the wrong type is skipped with the member's
name in the reason.

The JSON plumbing here (:func:`json_events` and the member/element walkers) is shared with the other JSON
readers of this package.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO, TextIO, cast, get_args

import ijson

from pm_formats.errors import FormatError
from pm_formats.ids import clean_isrc
from pm_formats.limits import MAX_ENTRIES
from pm_formats.model import Entry, FileTrack, Item, MediaType, PlaylistInfo, PlaylistStart, Skipped

FORMAT = "playlist-manager"
VERSION = 1

_SNIFF = re.compile(r'"format"\s*:\s*"playlist-manager"')
_MEDIA_TYPES: frozenset[str] = frozenset(get_args(MediaType))


def sniff(head: str) -> bool:
    """True when ``head`` (a file's first few KB, decoded) is a JSON object naming this format."""
    text = head.lstrip("\ufeff \t\r\n")
    return text.startswith("{") and _SNIFF.search(text) is not None


# --- JSON plumbing, shared with the other JSON readers ------------------------------------------------------

Event = tuple[str, Any]


class _Prefixed:
    """``rest`` with ``head`` put back in front (the bytes read to look for a byte order mark)."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        if self._head:
            chunk = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(chunk) :]
            return chunk
        data: bytes = self._rest.read(size)
        return data


def _utf8(source: BinaryIO) -> _Prefixed:
    """``source`` as UTF-8 bytes without a BOM: JSON is UTF-8, but editors on Windows add a BOM, or save
    UTF-16 with one."""
    head = b""
    while len(head) < 3:
        chunk = source.read(3 - len(head))
        if not chunk:
            break
        head += chunk
    if head.startswith(codecs.BOM_UTF8):
        return _Prefixed(b"", source)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        utf16 = codecs.getreader("utf-16")(_Prefixed(head, source))  # type: ignore[arg-type]
        return _Prefixed(b"", _Utf16AsUtf8(utf16))
    return _Prefixed(head, source)


class _Utf16AsUtf8:
    def __init__(self, text: codecs.StreamReader) -> None:
        self._text = text

    def read(self, size: int = -1) -> bytes:
        # Characters, not bytes, but any positive count is a fine chunk for the parser.
        return self._text.read(size if size > 0 else -1).encode("utf-8", errors="surrogatepass")


def _json_error(error: Exception) -> FormatError:
    detail = error.args[0] if error.args else str(error)
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", errors="replace")
    first_line = str(detail).strip().splitlines()[0] if str(detail).strip() else type(error).__name__
    return FormatError(f"not valid JSON: {first_line}")


def json_events(source: BinaryIO) -> Iterator[Event]:
    """The (event, value) pairs of ijson's basic parser over ``source``; a file that is not JSON (or not
    UTF-8) ends the stream with a :class:`FormatError`. Numbers are ``int`` or ``Decimal``."""
    try:
        yield from ijson.basic_parse(_utf8(source))
    except (ijson.JSONError, UnicodeError, ValueError, OverflowError) as error:
        raise _json_error(error) from None


def next_event(events: Iterator[Event]) -> Event:
    """The next event; the end of the file here is a broken file."""
    event = next(events, None)
    if event is None:
        raise FormatError("not valid JSON: the file ends too early")
    return event


def members(events: Iterator[Event]) -> Iterator[tuple[str, str, Any]]:
    """(key, first event, its value) of each member of the object whose ``start_map`` was just read. The
    caller consumes each member's value (:func:`build`, :func:`skip`, or walking it) before asking for the
    next; the object's ``end_map`` is consumed here."""
    while True:
        event, value = next_event(events)
        if event == "end_map":
            return
        key = value
        event, value = next_event(events)
        yield key, event, value


def elements(events: Iterator[Event]) -> Iterator[tuple[str, Any]]:
    """(first event, its value) of each element of the array whose ``start_array`` was just read; the
    caller consumes each element as with :func:`members`."""
    while True:
        event, value = next_event(events)
        if event == "end_array":
            return
        yield event, value


def build(event: str, value: Any, events: Iterator[Event]) -> Any:
    """The whole JSON value that begins with (``event``, ``value``): for the small things (one entry, a
    name), never for a whole array of entries."""
    if event not in ("start_map", "start_array"):
        return value
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    while depth:
        event, value = next_event(events)
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
    return builder.value


def skip(event: str, events: Iterator[Event]) -> None:
    """Consume the value that begins with ``event`` without keeping it."""
    depth = 1 if event in ("start_map", "start_array") else 0
    while depth:
        event, _ = next_event(events)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1


def finish(events: Iterator[Event]) -> None:
    """Read to the end: trailing garbage after the document is an error, as anywhere else."""
    for _ in events:
        raise FormatError("not valid JSON: more after the end of the document")


# --- Reading ------------------------------------------------------------------------------------------------


def read_lossless(source: BinaryIO) -> Iterator[Item]:
    """The playlists of a Playlist Manager file, lazily, in file order: per playlist a
    :class:`PlaylistStart`, its :class:`PlaylistInfo` (as soon as both name and description were read, else
    at the playlist's end) and its entries. A file of another format or version is a
    :class:`FormatError` before any item; so is more than ``MAX_ENTRIES`` entries in one playlist."""
    events = json_events(source)
    event, _ = next_event(events)
    if event != "start_map":
        raise FormatError(f'not a {FORMAT} file: not a JSON object with "format": "{FORMAT}"')
    format_seen = version_seen = playlists_seen = False
    for key, event, value in members(events):
        if key == "format":
            if value != FORMAT:
                raise FormatError(
                    f'not a {FORMAT} file: "format" is {_describe(build(event, value, events))}'
                )
            format_seen = True
        elif key == "version":
            if type(value) is not int or value != VERSION:
                raise FormatError(
                    f"version {_describe(build(event, value, events))} of the {FORMAT} format: "
                    f"this reads version {VERSION}"
                )
            version_seen = True
        elif key == "playlists":
            if not format_seen:
                raise FormatError(f'not a {FORMAT} file: no "format" before "playlists"')
            if not version_seen:
                raise FormatError(f'a {FORMAT} file without "version" before "playlists"')
            if event != "start_array":
                raise FormatError('"playlists" is not an array')
            playlists_seen = True
            for number, (event, _) in enumerate(elements(events), start=1):
                if event != "start_map":
                    raise FormatError(f"playlist {number} is not an object")
                yield from _read_playlist(number, events)
        else:
            skip(event, events)
    finish(events)
    if not format_seen:
        raise FormatError(f'not a {FORMAT} file: no "format"')
    if not playlists_seen:
        raise FormatError(f'a {FORMAT} file without "playlists"')


def _read_playlist(number: int, events: Iterator[Event]) -> Iterator[Item]:
    yield PlaylistStart()
    fields: dict[str, Any] = {}
    info_given = False
    for key, event, value in members(events):
        if key == "entries":
            if event != "start_array":
                raise FormatError(f'playlist {number}: "entries" is not an array')
            for index, (event, value) in enumerate(elements(events), start=1):
                if index > MAX_ENTRIES:
                    raise FormatError(f"playlist {number} has more than {MAX_ENTRIES} entries")
                yield _entry(build(event, value, events), number, index)
        elif key in ("name", "description"):
            fields[key] = build(event, value, events)
            if not info_given and len(fields) == 2:
                yield _info(fields, number)
                info_given = True
        else:
            skip(event, events)
    if not info_given:
        yield _info(fields, number)


def _info(fields: dict[str, Any], number: int) -> PlaylistInfo:
    name, description = fields.get("name"), fields.get("description")
    if not isinstance(name, str):
        raise FormatError(f'playlist {number}: "name" is {_describe(name)}, not a string')
    if description is not None and not isinstance(description, str):
        raise FormatError(f'playlist {number}: "description" is {_describe(description)}, not a string')
    return PlaylistInfo(name=name, description=description)


def _entry(value: Any, playlist: int, index: int) -> Entry | Skipped:
    where = f"playlist {playlist}, entry {index}"
    if not isinstance(value, dict):
        return Skipped(f"{where}: {_describe(value)}, not an object")
    problem, track = _track(value)
    if track is None:
        return Skipped(f"{where}: {problem}")
    return Entry(track)


def _track(entry: dict[str, Any]) -> tuple[str, FileTrack | None]:
    """The entry's track, or why not: the reason names the member that has the wrong type."""
    title = entry.get("title")
    if not isinstance(title, str):
        return f'"title" is {_describe(title)}, not a string', None
    artists = entry.get("artists", [])
    artists = [] if artists is None else artists
    if not isinstance(artists, list) or not all(isinstance(a, str) for a in artists):
        return '"artists" is not an array of strings', None
    duration_ms = entry.get("duration_ms")
    if duration_ms is not None and (type(duration_ms) is not int or duration_ms < 0):
        return f'"duration_ms" is {_describe(duration_ms)}, not a whole number of ms', None
    explicit = entry.get("explicit")
    if explicit is not None and not isinstance(explicit, bool):
        return f'"explicit" is {_describe(explicit)}, not true or false', None
    provider_ids = entry.get("provider_ids", {})
    provider_ids = {} if provider_ids is None else provider_ids
    if not isinstance(provider_ids, dict) or not all(isinstance(i, str) for i in provider_ids.values()):
        return '"provider_ids" is not an object of strings', None
    strings: dict[str, str | None] = {}
    for key in ("album", "isrc", "location", "mbid", "added_at", "media_type"):
        text = entry.get(key)
        if text is not None and not isinstance(text, str):
            return f'"{key}" is {_describe(text)}, not a string', None
        strings[key] = text
    added_at = None
    if strings["added_at"] is not None:
        try:
            added_at = datetime.fromisoformat(strings["added_at"])
        except ValueError:
            return '"added_at" is not an ISO-8601 date and time', None
        if added_at.tzinfo is None:
            return '"added_at" has no time zone', None
    media_type = strings["media_type"] or "track"
    isrc = strings["isrc"]
    return "", FileTrack(
        title=title,
        artists=tuple(artists),
        album=strings["album"],
        duration_ms=duration_ms,
        isrc=clean_isrc(isrc) if isrc is not None else None,
        explicit=explicit,
        provider_ids=dict(provider_ids),
        location=strings["location"],
        mbid=strings["mbid"],
        added_at=added_at,
        # A media type from a later writer is one this reader does not know.
        media_type=cast(MediaType, media_type if media_type in _MEDIA_TYPES else "unknown"),
    )


def _describe(value: Any) -> str:
    """A JSON value, shortly, for a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    shown = json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)
    return shown if len(shown) <= 40 else shown[:37] + "…"


# --- Writing ------------------------------------------------------------------------------------------------


def write_lossless(playlists: Iterable[tuple[PlaylistInfo, Iterable[FileTrack]]], out: TextIO) -> None:
    """Write ``playlists`` as one Playlist Manager file, as text (open ``out`` with ``encoding="utf-8"``),
    one entry per line, streaming: neither the playlists nor their tracks are made into lists. A datetime
    without a time zone is taken as UTC."""
    out.write(f'{{"format": "{FORMAT}", "version": {VERSION}, "playlists": [')
    playlist_written = False
    for info, tracks in playlists:
        out.write(",\n" if playlist_written else "\n")
        playlist_written = True
        out.write(f'{{"name": {_dumps(info.name)}, "description": {_dumps(info.description)}, "entries": [')
        entry_written = False
        for track in tracks:
            out.write(",\n" if entry_written else "\n")
            entry_written = True
            out.write(_dumps(_entry_json(track)))
        out.write("\n]}" if entry_written else "]}")
    out.write("\n]}\n" if playlist_written else "]}\n")


def write_lossless_one(info: PlaylistInfo, tracks: Iterable[FileTrack], out: TextIO) -> None:
    """Write one playlist as a Playlist Manager file (text, as :func:`write_lossless`)."""
    write_lossless([(info, tracks)], out)


def _entry_json(track: FileTrack) -> dict[str, Any]:
    added_at = track.added_at
    if added_at is not None and added_at.tzinfo is None:
        added_at = added_at.replace(tzinfo=UTC)
    return {
        "title": track.title,
        "artists": list(track.artists),
        "album": track.album,
        "duration_ms": track.duration_ms,
        "isrc": track.isrc,
        "explicit": track.explicit,
        "provider_ids": dict(sorted(track.provider_ids.items())),
        "location": track.location,
        "mbid": track.mbid,
        "added_at": added_at.isoformat() if added_at is not None else None,
        "media_type": track.media_type,
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
