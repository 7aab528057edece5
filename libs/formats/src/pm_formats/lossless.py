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

The JSON is read through :mod:`pm_formats.json_stream`: each entry on a line of its own, as the writer puts
it, is decoded a line at a time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO, TextIO, cast, get_args

from pm_formats.errors import FormatError
from pm_formats.ids import clean_isrc
from pm_formats.json_stream import (
    JsonEvents,
    build,
    element_values,
    elements,
    finish,
    json_events,
    members,
    next_event,
    only_strings,
    skip,
)
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


def _read_playlist(number: int, events: JsonEvents) -> Iterator[Item]:
    yield PlaylistStart()
    fields: dict[str, Any] = {}
    info_given = False
    for key, event, value in members(events):
        if key == "entries":
            if event != "start_array":
                raise FormatError(f'playlist {number}: "entries" is not an array')
            too_many = f"playlist {number} has more than {MAX_ENTRIES} entries"
            for index, value in enumerate(element_values(events, MAX_ENTRIES, too_many), start=1):
                yield _entry(value, number, index)
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
    if not isinstance(artists, list) or not only_strings(artists):
        return '"artists" is not an array of strings', None
    duration_ms = entry.get("duration_ms")
    if duration_ms is not None and (type(duration_ms) is not int or duration_ms < 0):
        return f'"duration_ms" is {_describe(duration_ms)}, not a whole number of ms', None
    explicit = entry.get("explicit")
    if explicit is not None and not isinstance(explicit, bool):
        return f'"explicit" is {_describe(explicit)}, not true or false', None
    provider_ids = entry.get("provider_ids", {})
    provider_ids = {} if provider_ids is None else provider_ids
    if not isinstance(provider_ids, dict) or not only_strings(provider_ids.values()):
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


# json.dumps(value, ensure_ascii=False), without making an encoder for each value.
_dumps = json.JSONEncoder(ensure_ascii=False).encode
