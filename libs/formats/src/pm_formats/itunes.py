"""iTunes' and Apple Music's ``Library.xml`` (an XML property list), read only; see providers.md B6::

    <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
    <plist version="1.0"><dict>
      <key>Major Version</key><integer>1</integer> …
      <key>Tracks</key><dict>
        <key>101</key><dict><key>Track ID</key><integer>101</integer><key>Name</key><string>Teardrop</string>
          <key>Artist</key><string>Massive Attack</string><key>Total Time</key><integer>331000</integer>
          <key>Location</key><string>file:///Users/alice/Music/Teardrop.m4a</string> …</dict> …
      </dict>
      <key>Playlists</key><array>
        <dict><key>Name</key><string>Road Trip</string> …
          <key>Playlist Items</key><array><dict><key>Track ID</key><integer>101</integer></dict></array>
        </dict> …
      </array>
    </dict></plist>

The file is walked as it is read: a small plist walker turns the XML into the JSON parser's events, and
the library is read with the JSON readers' walkers. The one thing kept for the whole read is the library's
tracks (id → :class:`FileTrack`, at most ``MAX_ENTRIES`` of them), since the playlists, which come after
them, name their items by track id. The library's whole-library playlist (``Master``), the built-in ones
(``Distinguished Kind``: Music, Podcasts…) and folders are left out; smart playlists are read as they were
when the file was written. A track's ``Location`` (a percent-encoded ``file://`` URL) is read as the file's
path; a stream's (``Track Type`` URL) stays its URL, and a cloud item (``Remote``, no location) is kept
without one. ``Podcast`` makes an episode; ``Explicit``/``Clean`` say explicit or not. The file names one
artist per track and has no ISRC.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

from pm_formats.errors import FormatError
from pm_formats.json_stream import Event, build, elements, finish, members, skip
from pm_formats.limits import MAX_ENTRIES
from pm_formats.model import Entry, FileTrack, Item, PlaylistInfo, PlaylistStart, Skipped
from pm_formats.xspf import xml_events

# The members of the library's top dict; any one of them makes a plist a library.
_LIBRARY_KEYS = ("Major Version", "Application Version", "Music Folder", "Tracks", "Playlists")
# A value's element, and its JSON parser event.
_SCALARS = {
    "string": "string",
    "date": "string",
    "integer": "number",
    "real": "number",
    "true": "boolean",
    "false": "boolean",
    "data": "null",
}
_PLAYLIST_FIELDS = ("Name", "Description", "Master", "Distinguished Kind", "Folder")


def sniff(head: str) -> bool:
    """True when ``head`` is a property list (its root element or Apple's plist DOCTYPE) whose keys are a
    library's (``Major Version``, ``Tracks``…): not any plist."""
    is_plist = "<plist" in head or "-//Apple//DTD PLIST" in head
    return is_plist and any(f"<key>{key}</key>" in head for key in _LIBRARY_KEYS)


# --- The plist as JSON parser events ----------------------------------------------------------------------


def _number(tag: str, text: str) -> int | float | None:
    try:
        return int(text) if tag == "integer" else float(text)
    except ValueError:
        return None


def _scalar(tag: str, text: str) -> object:
    if tag in ("string", "date"):
        return text
    if tag in ("integer", "real"):
        return _number(tag, text.strip())
    if tag in ("true", "false"):
        return tag == "true"
    # <data> (base64: artwork, smart playlists' rules) is of no use here.
    return None


def plist_events(source: BinaryIO) -> Iterator[Event]:
    """The events ijson's basic parser would give for the plist's value (``map_key`` for ``<key>``, a
    ``<date>`` as its text, ``<data>`` as null), read through defusedxml; each element leaves the tree
    once read. A plist's Apple DOCTYPE is allowed (entities are not); anything that is not a plist, or a
    ``<dict>`` whose keys and values do not pair up, is a :class:`FormatError`."""
    open_elements: list[Element] = []
    # Per open element: what comes next in it ("key" or "value"; a <plist> holds one value, then "none").
    expecting: list[str] = []
    for event, element in xml_events(source, forbid_dtd=False):
        tag = element.tag
        if event == "start":
            if not open_elements:
                if tag != "plist":
                    raise FormatError(f"not a plist: the root element is <{tag.rpartition('}')[2]}>")
            elif (parent_tag := open_elements[-1].tag) not in ("plist", "dict", "array"):
                raise FormatError(f"not a plist: <{tag}> inside <{parent_tag}>")
            elif tag == "key":
                if expecting[-1] != "key":
                    raise FormatError("not a plist: a <key> outside a <dict>, or without its value")
            elif tag not in _SCALARS and tag not in ("dict", "array"):
                raise FormatError(f"not a plist: <{tag}>")
            elif expecting[-1] == "key":
                raise FormatError(f"not a plist: a <{tag}> in a <dict> without its <key>")
            elif expecting[-1] == "none":
                raise FormatError("not a plist: a <plist> holds one value")
            if tag == "dict":
                yield "start_map", None
            elif tag == "array":
                yield "start_array", None
            open_elements.append(element)
            expecting.append("key" if tag == "dict" else "value")
            continue
        open_elements.pop()
        inside = expecting.pop()
        if tag == "dict":
            if inside != "key":
                raise FormatError("not a plist: a <key> without its value")
            yield "end_map", None
        elif tag == "array":
            yield "end_array", None
        elif tag == "key":
            yield "map_key", element.text or ""
        elif tag in _SCALARS:
            yield _SCALARS[tag], _scalar(tag, element.text or "")
        if open_elements:
            parent = open_elements[-1]
            if parent.tag == "dict":
                expecting[-1] = "value" if tag == "key" else "key"
            elif parent.tag == "plist":
                expecting[-1] = "none"
            parent.remove(element)
        element.clear()


# --- Reading ------------------------------------------------------------------------------------------------


def read_itunes(source: BinaryIO) -> Iterator[Item]:
    """The library's playlists, lazily, in file order: per playlist a :class:`PlaylistStart`, its
    :class:`PlaylistInfo` (name and description) and an :class:`Entry` per item (a :class:`Skipped` for an
    item whose track is not in the library's Tracks). Built-ins and folders are left out. Not a library,
    Playlists before Tracks, an entity or external reference in the file, more than ``MAX_ENTRIES`` tracks
    in the library or items in a playlist are a :class:`FormatError`."""
    events = plist_events(source)
    first = next(events, None)
    if first is None or first[0] != "start_map":
        raise FormatError("not an iTunes library: the plist does not hold a dict")
    tracks: dict[int, FileTrack] = {}
    is_library = tracks_read = False
    for key, event, _ in members(events):
        is_library = is_library or key in _LIBRARY_KEYS
        if key == "Tracks" and event == "start_map":
            _read_tracks(events, tracks)
            tracks_read = True
        elif key == "Playlists" and event == "start_array":
            if not tracks_read:
                raise FormatError("not an iTunes library: its Playlists come before its Tracks")
            for playlist_event, _ in elements(events):
                if playlist_event == "start_map":
                    yield from _read_playlist(events, tracks)
                else:
                    skip(playlist_event, events)
        else:
            skip(event, events)
    finish(events)
    if not is_library:
        raise FormatError("not an iTunes library: no Tracks or Playlists")


def _read_tracks(events: Iterator[Event], tracks: dict[int, FileTrack]) -> None:
    for key, event, value in members(events):
        fields = build(event, value, events)
        if not isinstance(fields, dict):
            continue
        track_id = _int(fields.get("Track ID"))
        if track_id is None and key.isascii() and key.isdigit():
            track_id = int(key)
        if track_id is None:
            continue
        if len(tracks) >= MAX_ENTRIES and track_id not in tracks:
            raise FormatError(f"a library of more than {MAX_ENTRIES} tracks")
        tracks[track_id] = _track(fields)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _track(fields: dict[str, Any]) -> FileTrack:
    name, artist, album = fields.get("Name"), fields.get("Artist"), fields.get("Album")
    total_time = _int(fields.get("Total Time"))
    location = fields.get("Location")
    explicit = True if fields.get("Explicit") is True else False if fields.get("Clean") is True else None
    return FileTrack(
        title=name if isinstance(name, str) else "",
        artists=(artist,) if isinstance(artist, str) and artist else (),
        album=album if isinstance(album, str) and album else None,
        duration_ms=total_time if total_time is not None and total_time >= 0 else None,
        explicit=explicit,
        location=_location(location) if isinstance(location, str) and location else None,
        media_type="episode" if fields.get("Podcast") is True else "track",
    )


def _location(url: str) -> str:
    """A ``file://`` URL (percent-encoded, ``file://localhost/…`` on macOS, ``…/C:/…`` on Windows) as the
    file's path; any other URL (a stream's) as it is."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        return url
    path = unquote(parts.path)
    if len(path) > 2 and path[0] == "/" and path[1].isalpha() and path[2] == ":":
        path = path[1:]
    host = parts.netloc
    return path if host in ("", "localhost") else f"//{host}{path}"


def _read_playlist(events: Iterator[Event], tracks: dict[int, FileTrack]) -> Iterator[Item]:
    fields: dict[str, Any] = {}
    started = False
    item_count = 0
    for key, event, value in members(events):
        if key == "Playlist Items" and event == "start_array":
            # Master, Distinguished Kind and Folder come before the items in every library iTunes writes.
            if not _kept(fields):
                skip(event, events)
                continue
            if not started:
                yield from _start(fields)
                started = True
            for item_event, item_value in elements(events):
                item_count += 1
                if item_count > MAX_ENTRIES:
                    raise FormatError(f"a playlist of more than {MAX_ENTRIES} items")
                yield _entry(build(item_event, item_value, events), tracks, item_count)
        elif key in _PLAYLIST_FIELDS:
            fields[key] = build(event, value, events)
        else:
            skip(event, events)
    if not started and _kept(fields):
        yield from _start(fields)


def _kept(fields: dict[str, Any]) -> bool:
    return not (
        fields.get("Master") is True or "Distinguished Kind" in fields or fields.get("Folder") is True
    )


def _start(fields: dict[str, Any]) -> Iterator[Item]:
    name, description = fields.get("Name"), fields.get("Description")
    yield PlaylistStart()
    yield PlaylistInfo(
        name=name if isinstance(name, str) else "",
        description=description if isinstance(description, str) and description else None,
    )


def _entry(item: object, tracks: dict[int, FileTrack], number: int) -> Entry | Skipped:
    track_id = _int(item.get("Track ID")) if isinstance(item, dict) else None
    if track_id is None:
        return Skipped(f"item {number}: no Track ID")
    track = tracks.get(track_id)
    if track is None:
        return Skipped(f"item {number}: track {track_id} is not in the library's Tracks")
    return Entry(track)
