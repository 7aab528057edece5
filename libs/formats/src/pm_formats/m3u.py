"""Extended M3U / M3U8 (providers.md B1): one path or URL per entry line, ``#EXTINF`` before it.

Read: ``#EXTM3U``; ``#PLAYLIST:<name>`` (the first one names the playlist; without it there is no
:class:`PlaylistInfo`); ``#EXTINF:<seconds>[ key="value"…],<Artist> - <Title>`` (the attributes end at the
first comma outside quotes; "Artist - Title" splits at the first " - ", without one it is the title; a
negative duration is unknown); ``#EXTALB:`` (album) and ``#EXTART:`` (artist, when EXTINF names none), both
for the next entry; other ``#`` lines and blank lines are ignored. The entry line is the track's location,
kept as written (relative paths are the caller's to resolve against the file); a Spotify, YouTube, Deezer or
TIDAL track URL or URI there also gives its provider id, a MusicBrainz recording URL its mbid,
``spotify:local:…`` the media type "local". An entry line without EXTINF is an entry too, titled by its file
name without the extension (or by the whole URL). An ``#EXTINF`` with no entry line after it is
:class:`Skipped`. A file holding control characters (a NUL…) is not M3U: :class:`FormatError`.

Written: ``#EXTM3U``, ``#PLAYLIST:<name>``, then per track ``#EXTINF:<seconds, rounded; -1 if
unknown>,<artists joined ", "> - <title>``, ``#EXTALB:<album>`` when there is one, and its location. A track
without a location gets a URI this reader maps back: ``spotify:track:<id>`` (``spotify:episode:<id>``),
else ``https://www.youtube.com/watch?v=<id>``, ``https://www.deezer.com/track/<id>``,
``https://tidal.com/browse/track/<id>``, ``https://musicbrainz.org/recording/<mbid>``, else
``about:blank`` (read back as no location). Line breaks and control characters cannot be in an M3U line:
they are written as spaces.

What plain M3U cannot hold (ISRC, explicit, mbid, added_at, other provider ids, milliseconds, several
artists, a title with " - " or line breaks, a description…) goes in comment lines that players ignore, so a
file we wrote reads back exactly: ``#EXTPM:<JSON object>`` before an entry line holds the fields of that
entry's track (FileTrack's field names) that differ from what the plain lines give; ``#EXTPM-PLAYLIST:<JSON
object>`` holds the playlist's ``name`` (when the ``#PLAYLIST`` line cannot carry it) and ``description``.
Other tools keep or drop these lines; a reader that ignores them sees the plain view.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, TextIO, get_args
from urllib.parse import unquote

from pm_formats.errors import FormatError
from pm_formats.ids import clean_isrc
from pm_formats.limits import MAX_ENTRIES
from pm_formats.model import Entry, FileTrack, Item, MediaType, PlaylistInfo, PlaylistStart, Skipped
from pm_formats.text import lines, text_stream

# The entry line written for a track with neither a location nor an id to link to; read back as none.
PLACEHOLDER_LOCATION = "about:blank"

_EXTPM = "#EXTPM:"
_EXTPM_PLAYLIST = "#EXTPM-PLAYLIST:"

# --- identifiers (shared with the CSV readers: they meet the same links and ISRCs) ---

_SPOTIFY_ID = re.compile(r"[A-Za-z0-9]{22}")
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_NUMERIC_ID = re.compile(r"\d{1,20}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_REST = r"(?:[?#/].*)?"
_SPOTIFY_URI = re.compile(r"spotify:(track|episode):([A-Za-z0-9]{22})")
_SPOTIFY_URL = re.compile(
    r"(?i:https?://open\.spotify\.com/)(?:intl-[A-Za-z-]{2,8}/)?(track|episode)/([A-Za-z0-9]{22})" + _REST
)
_YOUTUBE_URLS = (
    re.compile(
        r"(?i:https?://(?:www\.|m\.|music\.)?youtube\.com/watch\?)(?:[^#]*&)?v=([A-Za-z0-9_-]{11})(?:[&#].*)?"
    ),
    re.compile(r"(?i:https?://youtu\.be/)([A-Za-z0-9_-]{11})" + _REST),
    re.compile(r"(?i:https?://(?:www\.|m\.)?youtube\.com/(?:shorts|embed|live)/)([A-Za-z0-9_-]{11})" + _REST),
)
_DEEZER_URL = re.compile(
    r"(?i:https?://(?:www\.)?deezer\.com/)(?:[A-Za-z]{2}(?:-[A-Za-z]{2})?/)?track/(\d{1,20})" + _REST
)
_TIDAL_URL = re.compile(r"(?i:https?://(?:www\.|listen\.)?tidal\.com/)(?:browse/)?track/(\d{1,20})" + _REST)
_MUSICBRAINZ_URL = re.compile(
    r"(?i:https?://(?:www\.|beta\.)?musicbrainz\.org/recording/)(" + _UUID.pattern + ")" + _REST
)


@dataclass(frozen=True, slots=True)
class TrackLink:
    """What a track URL or URI says: a provider's id, the media type, or a MusicBrainz recording."""

    provider: str | None = None
    id: str | None = None
    media_type: MediaType = "track"
    mbid: str | None = None


def track_link(text: str) -> TrackLink | None:
    """The ids in a track link (Spotify URI or open.spotify.com URL, YouTube / YouTube Music watch, youtu.be
    and shorts URLs, Deezer and TIDAL track URLs, MusicBrainz recording URLs, ``spotify:local:…``), else
    None. Never raises."""
    text = text.strip()
    if text.startswith("spotify:local:"):
        return TrackLink(media_type="local")
    for spotify in (_SPOTIFY_URI, _SPOTIFY_URL):
        if match := spotify.fullmatch(text):
            return TrackLink("spotify", match[2], "episode" if match[1] == "episode" else "track")
    for youtube in _YOUTUBE_URLS:
        if match := youtube.fullmatch(text):
            return TrackLink("youtube", match[1])
    if match := _DEEZER_URL.fullmatch(text):
        return TrackLink("deezer", match[1])
    if match := _TIDAL_URL.fullmatch(text):
        return TrackLink("tidal", match[1])
    if match := _MUSICBRAINZ_URL.fullmatch(text):
        return TrackLink(mbid=match[1].lower())
    return None


def is_youtube_id(text: str) -> bool:
    return _YOUTUBE_ID.fullmatch(text) is not None


def is_spotify_id(text: str) -> bool:
    return _SPOTIFY_ID.fullmatch(text) is not None


# --- reading ---

# C0 control characters other than tab: in a "text" file they mean binary (or UTF-16 without a BOM).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
# A URL's scheme; two letters at least, so "C:\Music" stays a path.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")
_SECONDS = re.compile(r"[+-]?\d{1,12}(?:\.\d{1,9})?")
_MEDIA_TYPES = frozenset(get_args(MediaType))


def sniff(head: str) -> bool:
    """True when the head of a file starts with ``#EXTM3U`` or has an ``#EXTINF:`` line."""
    if head.lstrip("\ufeff \t\r\n")[:7].upper() == "#EXTM3U":
        return True
    return re.search(r"^[ \t]*#EXTINF:", head, re.MULTILINE | re.IGNORECASE) is not None


def read_m3u(source: BinaryIO) -> Iterator[Item]:
    """The one playlist of an M3U file (see the module's docstring), lazily, in file order; any encoding
    :func:`pm_formats.text.text_stream` knows. Raises :class:`FormatError` only."""
    yield PlaylistStart(line=1)
    parser = _Parser()
    for number, line in lines(text_stream(source)):
        yield from parser.feed(number, line)
    yield from parser.finish()


class _Parser:
    """M3U lines in, items out, one line at a time. The writer runs it too, to know what a reader that
    ignores our comment lines makes of its lines."""

    def __init__(self) -> None:
        self._name: str | None = None
        self._playlist_extras: dict[str, Any] = {}
        self._info_sent = False
        self._entries = 0
        self._reset()

    def _reset(self) -> None:
        self._extinf: str | None = None
        self._first_line: int | None = None
        self._album: str | None = None
        self._artist: str | None = None
        self._extras: dict[str, Any] = {}

    def feed(self, number: int, line: str) -> Iterator[Item]:
        if _CONTROL.search(line):
            raise FormatError(
                "control characters in the text: not an M3U file (or UTF-16 without a BOM)", number
            )
        stripped = line.strip()
        if not stripped:
            return
        if stripped.startswith("#"):
            yield from self._directive(number, stripped)
            return
        yield from self._info()
        self._entries += 1
        if self._entries > MAX_ENTRIES:
            raise FormatError(f"more than {MAX_ENTRIES} entries in the playlist", number)
        track = _apply_extras(self._plain_track(stripped), self._extras)
        yield Entry(track, self._first_line or number)
        self._reset()

    def finish(self) -> Iterator[Item]:
        if self._extinf is not None:
            yield Skipped("#EXTINF without an entry line after it", self._first_line)
        yield from self._info()

    @property
    def plain_name(self) -> str | None:
        """The name the ``#PLAYLIST`` line gave, if any."""
        return self._name

    def _directive(self, number: int, line: str) -> Iterator[Item]:
        if (value := _after("#EXTINF:", line)) is not None:
            if self._extinf is not None:
                yield Skipped("#EXTINF without an entry line after it", self._first_line)
                self._reset()
            self._extinf = value
            self._first_line = number
        elif (value := _after("#PLAYLIST:", line)) is not None:
            if self._name is None:
                self._name = value.strip() or None
        elif (value := _after("#EXTALB:", line)) is not None:
            self._album = value.strip() or None
        elif (value := _after("#EXTART:", line)) is not None:
            self._artist = value.strip() or None
        elif (value := _after(_EXTPM, line)) is not None:
            self._extras = _decode_extras(value)
            self._first_line = self._first_line or number
        elif (value := _after(_EXTPM_PLAYLIST, line)) is not None:
            self._playlist_extras = _decode_playlist_extras(value)

    def _info(self) -> Iterator[Item]:
        name = self._playlist_extras.get("name", self._name)
        if self._info_sent or name is None:
            return
        self._info_sent = True
        yield PlaylistInfo(name, self._playlist_extras.get("description"))

    def _plain_track(self, entry_line: str) -> FileTrack:
        duration_ms, display = _split_extinf(self._extinf) if self._extinf is not None else (None, "")
        artist, title = _split_display(display)
        if artist is None:
            artist = self._artist
        location = None if entry_line == PLACEHOLDER_LOCATION else entry_line
        link = track_link(entry_line)
        return FileTrack(
            title=title or _title_from_location(location),
            artists=(artist,) if artist else (),
            album=self._album,
            duration_ms=duration_ms,
            provider_ids={link.provider: link.id} if link and link.provider and link.id else {},
            location=location,
            mbid=link.mbid if link else None,
            media_type=link.media_type if link else "track",
        )


def _after(directive: str, line: str) -> str | None:
    """What follows ``directive`` (any case) at the start of ``line``, else None."""
    return line[len(directive) :] if line[: len(directive)].upper() == directive else None


def _split_extinf(value: str) -> tuple[int | None, str]:
    """(duration in ms, the display text) of what follows ``#EXTINF:``."""
    quoted = False
    comma = len(value)
    for index, character in enumerate(value):
        if character == '"':
            quoted = not quoted
        elif character == "," and not quoted:
            comma = index
            break
    head = value[:comma].split(maxsplit=1)
    display = value[comma + 1 :]
    if not head or not _SECONDS.fullmatch(head[0]) or head[0].startswith("-"):
        return None, display
    return round(float(head[0]) * 1000), display


def _split_display(display: str) -> tuple[str | None, str]:
    artist, separator, title = display.partition(" - ")
    if not separator:
        return None, display.strip()
    return artist.strip() or None, title.strip()


def _title_from_location(location: str | None) -> str:
    if location is None:
        return ""
    is_file_url = location[:5].lower() == "file:"
    if _SCHEME.match(location) and not is_file_url:
        return location
    path = unquote(location[5:]) if is_file_url else location
    name = re.split(r"[\\/]", path)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return stem or name or location


def _decode_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _decode_playlist_extras(text: str) -> dict[str, Any]:
    data = _decode_object(text)
    extras: dict[str, Any] = {}
    if isinstance(data.get("name"), str):
        extras["name"] = data["name"]
    if isinstance(data.get("description"), str):
        extras["description"] = data["description"]
    return extras


def _optional(value: object, kind: type) -> bool:
    """``value`` is None or a ``kind`` (JSON's true and false are not numbers here)."""
    if value is None:
        return True
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def _decode_extras(text: str) -> dict[str, Any]:
    """The fields an ``#EXTPM:`` line sets, those of the right type (a wrong one is ignored, not an error)."""
    extras: dict[str, Any] = {}
    for key, value in _decode_object(text).items():
        if key == "title" and isinstance(value, str):
            extras[key] = value
        elif key == "artists" and isinstance(value, list) and all(isinstance(a, str) for a in value):
            extras[key] = tuple(value)
        elif key in ("album", "location", "mbid") and _optional(value, str):
            extras[key] = value
        elif key == "duration_ms" and _optional(value, int):
            extras[key] = value if value is None or value >= 0 else None
        elif key == "isrc" and _optional(value, str):
            extras[key] = clean_isrc(value)
        elif key == "explicit" and _optional(value, bool):
            extras[key] = value
        elif key == "provider_ids" and isinstance(value, dict):
            if all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                extras[key] = dict(value)
        elif key == "media_type" and value in _MEDIA_TYPES:
            extras[key] = value
        elif key == "added_at" and _optional(value, str):
            with contextlib.suppress(ValueError):  # a date that is not ISO: ignored like any wrong field
                extras[key] = None if value is None else datetime.fromisoformat(value)
    return extras


def _apply_extras(track: FileTrack, extras: dict[str, Any]) -> FileTrack:
    return dataclasses.replace(track, **extras) if extras else track


# --- writing ---

_LINE_BREAKS = re.compile(r"\r\n|[\x00-\x08\x0a-\x1f]")
_FIELDS = tuple(field.name for field in dataclasses.fields(FileTrack))


def write_m3u(info: PlaylistInfo, tracks: Iterable[FileTrack], out: TextIO) -> None:
    """Writes an extended M3U (text: encode ``out`` as UTF-8 for .m3u8), one track at a time, in order;
    what plain M3U cannot hold goes in ``#EXTPM`` comment lines (see the module's docstring), so
    :func:`read_m3u` gives back ``info`` and ``tracks`` exactly (an ISRC only when well-formed)."""
    out.write("#EXTM3U\n")
    name_line = "#PLAYLIST:" + _one_line(info.name)
    parser = _Parser()
    for _ in parser.feed(1, name_line):
        pass
    if parser.plain_name is not None:
        out.write(name_line + "\n")
    playlist_extras: dict[str, str] = {}
    if parser.plain_name != info.name:
        playlist_extras["name"] = info.name
    if info.description is not None:
        playlist_extras["description"] = info.description
    if playlist_extras:
        out.write(_EXTPM_PLAYLIST + json.dumps(playlist_extras, ensure_ascii=False) + "\n")
    for track in tracks:
        out.write("".join(line + "\n" for line in _track_lines(track)))


def _one_line(text: str) -> str:
    return _LINE_BREAKS.sub(" ", text)


def _track_lines(track: FileTrack) -> list[str]:
    display = ", ".join(track.artists) + " - " + track.title if track.artists else track.title
    seconds = -1 if track.duration_ms is None or track.duration_ms < 0 else (track.duration_ms + 500) // 1000
    block = [f"#EXTINF:{seconds},{_one_line(display)}"]
    if track.album:
        block.append("#EXTALB:" + _one_line(track.album))
    entry_line = _entry_line(track)
    parser = _Parser()
    plain = next(
        item.track
        for number, line in enumerate([*block, entry_line], start=1)
        for item in parser.feed(number, line)
        if isinstance(item, Entry)
    )
    extras = {
        name: _json_value(getattr(track, name))
        for name in _FIELDS
        if getattr(plain, name) != getattr(track, name)
    }
    if extras:
        block.append(_EXTPM + json.dumps(extras, ensure_ascii=False))
    block.append(entry_line)
    return block


def _entry_line(track: FileTrack) -> str:
    if track.location is not None:
        location = _one_line(track.location)
        if location.strip() and not location.strip().startswith("#"):
            return location
    ids = track.provider_ids
    spotify, youtube = ids.get("spotify", ""), ids.get("youtube", "")
    if is_spotify_id(spotify):
        return f"spotify:{'episode' if track.media_type == 'episode' else 'track'}:{spotify}"
    if is_youtube_id(youtube):
        return f"https://www.youtube.com/watch?v={youtube}"
    if _NUMERIC_ID.fullmatch(ids.get("deezer", "")):
        return f"https://www.deezer.com/track/{ids['deezer']}"
    if _NUMERIC_ID.fullmatch(ids.get("tidal", "")):
        return f"https://tidal.com/browse/track/{ids['tidal']}"
    if track.mbid is not None and _UUID.fullmatch(track.mbid):
        return f"https://musicbrainz.org/recording/{track.mbid}"
    return PLACEHOLDER_LOCATION


def _json_value(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
