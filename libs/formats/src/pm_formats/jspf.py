"""JSPF, XSPF in JSON, and the ListenBrainz profile of it, read and written; see providers.md B3::

    {"playlist": {"title": "Road Trip", "annotation": "…", "track": [
      {"title": "Teardrop", "creator": "Massive Attack", "album": "Mezzanine", "duration": 331000,
       "location": ["file:///music/teardrop.flac"],
       "identifier": ["https://musicbrainz.org/recording/00000000-0000-4000-8000-000000000001"],
       "extension": {"https://musicbrainz.org/doc/jspf#track": {
         "added_at": "2026-05-01T10:00:00+00:00", "additional_metadata": {"isrc": "GBAAA9800006"}}}}
    ]}}

A track's fields are XSPF's (:mod:`pm_formats.xspf` reads their URIs): ``location`` and ``identifier``
are arrays, or a single string as some writers have them. ListenBrainz's track extension gives
``added_at``, ``additional_metadata.isrc`` and the artists (``additional_metadata.artists``, preferred to
splitting ``creator`` at ``", "``). What neither has a member for (explicit, a media type the URIs do not
tell, provider ids without a URL form) goes in our extension ``"https://playlist-manager.invalid/jspf#track"``,
so a file we wrote reads back as it was; other extensions are ignored. Some writers nest the tracks as
``"trackList": {"track": […]}`` (the older JSPF draft): read as well.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any, BinaryIO, TextIO

from pm_formats.errors import FormatError
from pm_formats.ids import clean_isrc
from pm_formats.json_stream import (
    Event,
    JsonEvents,
    build,
    element_values,
    finish,
    json_events,
    members,
    next_event,
    skip,
)
from pm_formats.limits import MAX_ENTRIES
from pm_formats.model import Entry, FileTrack, Item, PlaylistInfo, PlaylistStart, Skipped
from pm_formats.xspf import (
    artists_from_creator,
    aware,
    creator_from_artists,
    identifier_uris,
    iso_datetime,
    media_type_of,
    told_media_type,
    uri_facts,
)

MEDIA_TYPE = "application/jspf+json"
EXTENSION = ".jspf"
LISTENBRAINZ_TRACK = "https://musicbrainz.org/doc/jspf#track"
# Our track extension: what JSPF and ListenBrainz have no member for. ".invalid" (RFC 2606): a name only.
EXTENSION_APPLICATION = "https://playlist-manager.invalid/jspf#track"

_LONE_SURROGATES = re.compile("[\ud800-\udfff]")


def sniff(head: str) -> bool:
    """True when ``head`` is the start of a JSON object with a ``"playlist"`` object among its first
    members (read with the JSON parser itself, as far as the head goes)."""
    text = head.lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        return False
    events = _head_events(text)
    try:
        if next(events, None) != ("start_map", None):
            return False
        for key, event, _ in members(events):
            if key == "playlist":
                return event == "start_map"
            # Skipping a value may run past the head: then it is not known to be JSPF.
            skip(event, events)
    except FormatError:
        return False
    return False


def _head_events(text: str) -> Iterator[Event]:
    return json_events(io.BytesIO(_LONE_SURROGATES.sub("", text).encode()))


def read_jspf(source: BinaryIO) -> Iterator[Item]:
    """The playlists of a JSPF file (one, in practice), lazily: :class:`PlaylistStart`,
    :class:`PlaylistInfo` (when the title is met: before the tracks, else at the playlist's end) and one
    :class:`Entry` per track as its object ends (a :class:`Skipped` for a track that is not an object, or
    has no title, location or identifier). Not JSON, no ``"playlist"`` object, or more than
    ``MAX_ENTRIES`` tracks are a :class:`FormatError`."""
    events = json_events(source)
    event, _ = next_event(events)
    if event != "start_map":
        raise FormatError('not a JSPF playlist: not a JSON object with "playlist"')
    playlist_found = False
    for key, event, _ in members(events):
        if key != "playlist":
            skip(event, events)
            continue
        if event != "start_map":
            raise FormatError('not a JSPF playlist: "playlist" is not an object')
        playlist_found = True
        yield from _read_playlist(events)
    finish(events)
    if not playlist_found:
        raise FormatError('not a JSPF playlist: no "playlist" object')


def _read_playlist(events: JsonEvents) -> Iterator[Item]:
    yield PlaylistStart()
    title: str | None = None
    annotation: str | None = None
    info_given = False
    track_count = 0
    for key, event, value in members(events):
        if key in ("title", "annotation"):
            text = build(event, value, events)
            if isinstance(text, str) and key == "title" and title is None:
                title = text
            elif isinstance(text, str) and key == "annotation" and annotation is None:
                annotation = text or None
            continue
        tracks: Iterator[tuple[str, str]]
        if key == "trackList" and event == "start_map":
            # The older draft's {"trackList": {"track": [...]}}.
            tracks = ((member, first_event) for member, first_event, _ in members(events))
        elif key == "track":
            tracks = iter([(key, event)])
        else:
            skip(event, events)
            continue
        for tracks_key, tracks_event in tracks:
            if tracks_key != "track" or tracks_event != "start_array":
                skip(tracks_event, events)
                continue
            if title is not None and not info_given:
                yield PlaylistInfo(title, annotation)
                info_given = True
            too_many = f"more than {MAX_ENTRIES} tracks"
            for value in element_values(events, MAX_ENTRIES - track_count, too_many):
                track_count += 1
                yield _entry(value, track_count)
    if not info_given and (title is not None or annotation is not None):
        yield PlaylistInfo(title or "", annotation)


def _strings(value: object) -> list[str]:
    """A member that is a string or an array of strings, as the list of its non-empty strings."""
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [text for text in value if isinstance(text, str) and text]
    return []


def _object(value: object, key: str) -> dict[str, Any]:
    member = value.get(key) if isinstance(value, dict) else None
    return member if isinstance(member, dict) else {}


def _listenbrainz_artists(metadata: dict[str, Any]) -> tuple[str, ...]:
    credits = metadata.get("artists")
    if not isinstance(credits, list):
        return ()
    names = (credit.get("artist_credit_name") if isinstance(credit, dict) else None for credit in credits)
    return tuple(name for name in names if isinstance(name, str) and name)


def _duration(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    if isinstance(value, Decimal) and (not value.is_finite() or value != value.to_integral_value()):
        return None
    return int(value) if value >= 0 else None


def _entry(track: object, number: int) -> Entry | Skipped:
    if not isinstance(track, dict):
        return Skipped(f"track {number}: not an object")
    locations = _strings(track.get("location"))
    identifiers = _strings(track.get("identifier"))
    facts = uri_facts(locations, identifiers)
    extensions = _object(track, "extension")
    listenbrainz = _object(extensions, LISTENBRAINZ_TRACK)
    ours = _object(extensions, EXTENSION_APPLICATION)
    metadata = _object(listenbrainz, "additional_metadata")
    provider_ids = dict(facts.provider_ids)
    provider_ids.update(
        {name: id for name, id in _object(ours, "provider_ids").items() if isinstance(id, str)}
    )
    title = track.get("title")
    title = title if isinstance(title, str) else ""
    if not title and not locations and not identifiers and not provider_ids:
        return Skipped(f"track {number}: no title, location or identifier")
    creator = track.get("creator")
    album = track.get("album")
    isrc = metadata.get("isrc")
    added_at = listenbrainz.get("added_at")
    explicit = ours.get("explicit")
    media_type = ours.get("media_type")
    return Entry(
        FileTrack(
            title=title,
            artists=_listenbrainz_artists(metadata)
            or (artists_from_creator(creator) if isinstance(creator, str) else ()),
            album=album if isinstance(album, str) and album else None,
            duration_ms=_duration(track.get("duration")),
            isrc=facts.isrc or (clean_isrc(isrc.strip()) if isinstance(isrc, str) else None),
            explicit=explicit if isinstance(explicit, bool) else None,
            provider_ids=provider_ids,
            location=locations[0] if locations else None,
            mbid=facts.mbid,
            added_at=iso_datetime(added_at) if isinstance(added_at, str) else None,
            media_type=(media_type_of(media_type) if isinstance(media_type, str) else None)
            or facts.media_type
            or "track",
        )
    )


# --- Writing ------------------------------------------------------------------------------------------------


def write_jspf(info: PlaylistInfo, tracks: Iterable[FileTrack], out: TextIO) -> None:
    """Write a JSPF file as text to ``out`` (open it with ``encoding="utf-8"``), one track per line as
    each comes: ``tracks`` is iterated once, never made into a list. Lone surrogates, which UTF-8 cannot
    hold, are dropped."""
    playlist = {"title": _text(info.name)}
    if info.description is not None:
        playlist["annotation"] = _text(info.description)
    # The playlist object's members but its last, "track": written around the tracks as they come.
    out.write('{"playlist": ' + _dumps(playlist)[:-1] + ', "track": [')
    separator = "\n"
    for track in tracks:
        out.write(separator + _dumps(_track_json(track)))
        separator = ",\n"
    out.write("\n]}}\n" if separator == ",\n" else "]}}\n")


def _text(text: str) -> str:
    # Printable text has no surrogate (they are not printable): no substitution to try.
    return text if text.isprintable() else _LONE_SURROGATES.sub("", text)


# json.dumps(value, ensure_ascii=False), without making an encoder for each value.
_dumps = json.JSONEncoder(ensure_ascii=False).encode


def _track_json(track: FileTrack) -> dict[str, Any]:
    provider_ids = {_text(name): _text(value) for name, value in track.provider_ids.items()}
    written = identifier_uris(track.mbid, provider_ids, track.media_type)
    identifiers = written.uris
    location = _text(track.location) if track.location is not None else ""
    fields: dict[str, Any] = {"title": _text(track.title)}
    if track.artists:
        fields["creator"] = _text(creator_from_artists(track.artists))
    if track.album is not None:
        fields["album"] = _text(track.album)
    if track.duration_ms is not None and track.duration_ms >= 0:
        fields["duration"] = track.duration_ms
    if location:
        fields["location"] = [location]
    if identifiers:
        fields["identifier"] = identifiers
    listenbrainz: dict[str, Any] = {}
    if track.added_at is not None:
        listenbrainz["added_at"] = aware(track.added_at).isoformat()
    isrc = clean_isrc(track.isrc.strip()) if track.isrc is not None else None
    if isrc is not None:
        listenbrainz["additional_metadata"] = {"isrc": isrc}
    ours: dict[str, Any] = {}
    if track.explicit is not None:
        ours["explicit"] = track.explicit
    # The media type, when the URIs would not tell it (or would tell another).
    if track.media_type != told_media_type(location, written):
        ours["media_type"] = track.media_type
    if written.unwritten:
        ours["provider_ids"] = written.unwritten
    extension = {
        application: content
        for application, content in ((LISTENBRAINZ_TRACK, listenbrainz), (EXTENSION_APPLICATION, ours))
        if content
    }
    if extension:
        fields["extension"] = extension
    return fields
