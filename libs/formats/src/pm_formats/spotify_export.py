"""Spotify's account data export (``my_spotify_data.zip``, "Spotify Account Data/"), read only.

``Playlist1.json`` (``Playlist2.json``… for large accounts)::

    {"playlists": [{"name": "Gym", "lastModifiedDate": "2026-01-02", "description": null,
      "numberOfFollowers": 0, "items": [
        {"track": {"trackName": …, "artistName": …, "albumName": …, "trackUri": "spotify:track:…"},
         "episode": null, "audiobook": null, "localTrack": null, "addedDate": "2026-01-01"}]}]}

An item holds one of ``track``, ``episode`` (``episodeName``, ``showName``, ``episodeUri``), ``localTrack``
(its shape varies: seen ``{"uri": "spotify:local:…"}``) or ``audiobook``; the others are null, and old
exports leave keys out. ``YourLibrary.json`` (liked songs and the rest of the library)::

    {"tracks": [{"artist": …, "album": …, "track": …, "uri": "spotify:track:…"}], "albums": […],
     "shows": […], "episodes": […], "bannedTracks": […], "artists": […], "bannedArtists": […], "other": […]}

The export names one artist per track and has no ISRC and no duration (a local file's URI has its
duration, which is taken).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO
from urllib.parse import unquote_plus

from pm_formats.errors import FormatError
from pm_formats.json_stream import Event, build, elements, finish, json_events, members, next_event, skip
from pm_formats.limits import MAX_ENTRIES
from pm_formats.model import Entry, FileTrack, Item, PlaylistInfo, PlaylistStart, Skipped

# The playlist read from YourLibrary.json's "tracks".
LIKED_SONGS = "Liked Songs"

_PLAYLISTS = re.compile(r'"playlists"\s*:\s*\[')
_PLAYLIST_KEYS = re.compile(r'"(?:lastModifiedDate|items|trackUri)"\s*:')
_TRACKS = re.compile(r'"tracks"\s*:\s*\[')
_LIBRARY_KEYS = re.compile(r'"(?:bannedTracks|albums|shows|bannedArtists)"\s*:')
# A library longer than the head shows nothing but its first member, "tracks": its items' keys tell.
_LIBRARY_OPENING = re.compile(r'^\{\s*"tracks"\s*:\s*\[\s*\{')
_TRACK_ID = re.compile(r"^spotify:track:([0-9A-Za-z]{22})$")
# spotify:local:<artist>:<album>:<title>:<seconds>, each part URL-encoded with "+" for spaces.
_LOCAL_URI = re.compile(r"^spotify:local:([^:]*):([^:]*):([^:]*):(\d*)$")
_LIBRARY_MEMBERS = frozenset(
    ("tracks", "albums", "shows", "episodes", "bannedTracks", "artists", "bannedArtists", "other")
)
_ITEM_KINDS = ("track", "episode", "audiobook", "localTrack")


def _json_text(head: str) -> str | None:
    text = head.lstrip("\ufeff \t\r\n")
    return text if text.startswith("{") else None


def sniff_playlists(head: str) -> bool:
    """True when ``head`` looks like a ``Playlist1.json``: an object with ``"playlists"`` whose playlists
    have ``"lastModifiedDate"`` or ``"items"`` (or whose items have ``"trackUri"``)."""
    text = _json_text(head)
    return text is not None and bool(_PLAYLISTS.search(text)) and bool(_PLAYLIST_KEYS.search(text))


def sniff_library(head: str) -> bool:
    """True when ``head`` looks like a ``YourLibrary.json``: ``"tracks"`` beside the library's other
    members, or, for a library longer than the head, an object opening with ``"tracks"`` whose items have
    ``"artist"``, ``"track"`` and ``"uri"``."""
    text = _json_text(head)
    if text is None or not _TRACKS.search(text):
        return False
    if _LIBRARY_KEYS.search(text):
        return True
    return bool(_LIBRARY_OPENING.match(text)) and all(
        re.search(rf'"{key}"\s*:', text) for key in ("artist", "track", "uri")
    )


def sniff(head: str) -> bool:
    """True for either file of the export this reads."""
    return sniff_playlists(head) or sniff_library(head)


def read_spotify_playlists(source: BinaryIO) -> Iterator[Item]:
    """The playlists of a ``Playlist1.json``, lazily, in file order: per playlist a :class:`PlaylistStart`,
    its :class:`PlaylistInfo` (once name and description were both read, else at the playlist's end) and
    one item per entry. Tracks, episodes (``media_type="episode"``, the show as artist, the episode URI as
    location) and local files (``media_type="local"``) are entries; audiobooks and empty items are
    :class:`Skipped`. More than ``MAX_ENTRIES`` items in one playlist is a :class:`FormatError`."""
    events = json_events(source)
    event, _ = next_event(events)
    if event != "start_map":
        raise FormatError('not a Spotify playlist export: not a JSON object with "playlists"')
    playlists_seen = False
    for key, event, _ in members(events):
        if key != "playlists":
            skip(event, events)
            continue
        if event != "start_array":
            raise FormatError('not a Spotify playlist export: "playlists" is not an array')
        playlists_seen = True
        for number, (event, _) in enumerate(elements(events), start=1):
            if event != "start_map":
                raise FormatError(f"playlist {number} is not an object")
            yield from _read_playlist(number, events)
    finish(events)
    if not playlists_seen:
        raise FormatError('not a Spotify playlist export: no "playlists"')


def _read_playlist(number: int, events: Iterator[Event]) -> Iterator[Item]:
    yield PlaylistStart()
    fields: dict[str, Any] = {}
    info_given = False
    for key, event, value in members(events):
        if key == "items" and event == "start_array":
            for index, (event, value) in enumerate(elements(events), start=1):
                if index > MAX_ENTRIES:
                    raise FormatError(f"playlist {number} has more than {MAX_ENTRIES} items")
                yield _playlist_item(build(event, value, events), f"playlist {number}, item {index}")
        elif key in ("name", "description"):
            fields[key] = build(event, value, events)
            if not info_given and len(fields) == 2:
                yield _info(fields)
                info_given = True
        else:
            skip(event, events)
    if not info_given:
        yield _info(fields)


def _info(fields: dict[str, Any]) -> PlaylistInfo:
    return PlaylistInfo(name=_text(fields.get("name")) or "", description=_text(fields.get("description")))


def _playlist_item(item: Any, where: str) -> Entry | Skipped:
    if not isinstance(item, dict):
        return Skipped(f"{where}: not an object")
    added_at = _added_at(item.get("addedDate"))
    track, episode, local = (_object(item.get(kind)) for kind in ("track", "episode", "localTrack"))
    if track is not None:
        entry = _track(
            track.get("trackName"),
            track.get("artistName"),
            track.get("albumName"),
            track.get("trackUri"),
            added_at,
        )
        return Entry(entry) if entry is not None else Skipped(f"{where}: a track without a name or URI")
    if episode is not None:
        title = _text(episode.get("episodeName"))
        location = _text(episode.get("episodeUri"))
        if title is None and location is None:
            return Skipped(f"{where}: an episode without a name or URI")
        show = _text(episode.get("showName"))
        return Entry(
            FileTrack(
                title=title or "",
                artists=(show,) if show else (),
                location=location,
                added_at=added_at,
                media_type="episode",
            )
        )
    if local is not None:
        entry = _local(local, added_at)
        return Entry(entry) if entry is not None else Skipped(f"{where}: a local file without a name or URI")
    if item.get("audiobook") is not None:
        return Skipped(f"{where}: an audiobook, not a track")
    others = sorted(k for k, v in item.items() if k not in (*_ITEM_KINDS, "addedDate") and v is not None)
    if others:
        return Skipped(f"{where}: an item of a kind this does not read ({', '.join(others)[:80]})")
    # What the export writes for a track no longer on Spotify (or a kind it leaves empty).
    return Skipped(f"{where}: an empty item (no track, episode or local file)")


def _local(local: dict[str, Any], added_at: datetime | None) -> FileTrack | None:
    uri = _text(local.get("uri")) or _text(local.get("trackUri"))
    from_uri = _LOCAL_URI.match(uri) if uri else None
    artist, album, title, seconds = (
        [unquote_plus(part) for part in from_uri.groups()] if from_uri else [""] * 4
    )
    title = _text(local.get("trackName")) or _text(local.get("name")) or title
    artist = _text(local.get("artistName")) or _text(local.get("artist")) or artist
    album = _text(local.get("albumName")) or _text(local.get("album")) or album
    if not title and not uri:
        return None
    return FileTrack(
        title=title,
        artists=(artist,) if artist else (),
        album=album or None,
        duration_ms=int(seconds) * 1000 if seconds.isdigit() and len(seconds) <= 9 else None,
        location=uri,
        added_at=added_at,
        media_type="local",
    )


def _track(title: Any, artist: Any, album: Any, uri: Any, added_at: datetime | None) -> FileTrack | None:
    """A track of the export, None when it has neither name nor URI (nothing to find it by)."""
    title, artist, album, uri = _text(title), _text(artist), _text(album), _text(uri)
    if uri is not None and uri.startswith("spotify:local:"):
        return _local({"uri": uri, "trackName": title, "artistName": artist, "albumName": album}, added_at)
    track_id = _TRACK_ID.match(uri) if uri else None
    if not title and track_id is None:
        return None
    return FileTrack(
        title=title or "",
        artists=(artist,) if artist else (),
        album=album or None,
        provider_ids={"spotify": track_id.group(1)} if track_id else {},
        # A URI that is not a track id is kept, not lost.
        location=uri if uri and track_id is None else None,
        added_at=added_at,
    )


def read_spotify_library(source: BinaryIO) -> Iterator[Item]:
    """The liked songs of a ``YourLibrary.json`` as one playlist named "Liked Songs", lazily, in file
    order (the export has no date added for them). An object with none of the library's members is a
    :class:`FormatError`; more than ``MAX_ENTRIES`` tracks too."""
    events = json_events(source)
    event, _ = next_event(events)
    if event != "start_map":
        raise FormatError("not a Spotify library export: not a JSON object")
    library_member_seen = tracks_read = False
    for key, event, value in members(events):
        library_member_seen = library_member_seen or key in _LIBRARY_MEMBERS
        if key != "tracks" or tracks_read:
            skip(event, events)
            continue
        if event != "start_array":
            raise FormatError('not a Spotify library export: "tracks" is not an array')
        tracks_read = True
        yield PlaylistStart()
        yield PlaylistInfo(name=LIKED_SONGS)
        for index, (event, value) in enumerate(elements(events), start=1):
            if index > MAX_ENTRIES:
                raise FormatError(f"more than {MAX_ENTRIES} liked songs")
            yield _library_track(build(event, value, events), f"liked song {index}")
    finish(events)
    if not library_member_seen:
        raise FormatError('not a Spotify library export: no "tracks", "albums" or the like')
    if not tracks_read:
        yield PlaylistStart()
        yield PlaylistInfo(name=LIKED_SONGS)


def _library_track(item: Any, where: str) -> Entry | Skipped:
    if not isinstance(item, dict):
        return Skipped(f"{where}: not an object")
    track = _track(item.get("track"), item.get("artist"), item.get("album"), item.get("uri"), None)
    return Entry(track) if track is not None else Skipped(f"{where}: a track without a name or URI")


def _text(value: Any) -> str | None:
    """A string member as text; anything else (missing, null, a number where text belongs) as None."""
    return value if isinstance(value, str) else None


def _object(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _added_at(value: Any) -> datetime | None:
    """The export's "YYYY-MM-DD" as midnight UTC (a full timestamp is taken too); anything else is None."""
    if not isinstance(value, str):
        return None
    try:
        added_at = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return added_at if added_at.tzinfo is not None else added_at.replace(tzinfo=UTC)
