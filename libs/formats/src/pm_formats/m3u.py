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

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, TextIO, get_args
from urllib.parse import unquote

from pm_formats.errors import FormatError
from pm_formats.ids import clean_isrc
from pm_formats.json_stream import only_strings
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
    feed = parser.feed
    for number, line in lines(text_stream(source)):
        yield from feed(number, line)
    yield from parser.finish()


_NO_ITEMS: tuple[Item, ...] = ()


class _Parser:
    """M3U lines in, items out, one line at a time. The writer runs it too, on its ``#PLAYLIST`` line."""

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

    def feed(self, number: int, line: str) -> Iterable[Item]:
        """The items ``line`` completes (most lines complete none)."""
        # isprintable() first: one C call rules out control characters on almost every line.
        if not line.isprintable() and _CONTROL.search(line):
            raise FormatError(
                "control characters in the text: not an M3U file (or UTF-16 without a BOM)", number
            )
        stripped = line.strip()
        if not stripped:
            return _NO_ITEMS
        if stripped[0] == "#":
            return self._directive(number, stripped)
        info = self._take_info()
        self._entries += 1
        if self._entries > MAX_ENTRIES:
            error = FormatError(f"more than {MAX_ENTRIES} entries in the playlist", number)
            if info is None:
                raise error
            return _then_raise(info, error)
        fields = _plain_fields(self._extinf, self._album, self._artist, stripped)
        if self._extras:
            fields.update(self._extras)
        entry = Entry(FileTrack(**fields), self._first_line or number)
        self._reset()
        return (entry,) if info is None else (info, entry)

    def finish(self) -> Iterator[Item]:
        if self._extinf is not None:
            yield Skipped("#EXTINF without an entry line after it", self._first_line)
        info = self._take_info()
        if info is not None:
            yield info

    @property
    def plain_name(self) -> str | None:
        """The name the ``#PLAYLIST`` line gave, if any."""
        return self._name

    def _directive(self, number: int, line: str) -> Iterable[Item]:
        # The usual directives are told apart by their first 8 characters, as _after would.
        head = line[:8].upper()
        if head == "#EXTINF:":
            skipped = _NO_ITEMS
            if self._extinf is not None:
                skipped = (Skipped("#EXTINF without an entry line after it", self._first_line),)
                self._reset()
            self._extinf = line[8:]
            self._first_line = number
            return skipped
        if (value := _after("#PLAYLIST:", line)) is not None:
            if self._name is None:
                self._name = value.strip() or None
        elif head == "#EXTALB:":
            self._album = line[8:].strip() or None
        elif head == "#EXTART:":
            self._artist = line[8:].strip() or None
        elif line[:7].upper() == _EXTPM:
            self._extras = _decode_extras(line[7:])
            self._first_line = self._first_line or number
        elif (value := _after(_EXTPM_PLAYLIST, line)) is not None:
            self._playlist_extras = _decode_playlist_extras(value)
        return _NO_ITEMS

    def _take_info(self) -> PlaylistInfo | None:
        """The playlist's info, the first time it is known; after that (or before), None."""
        name = self._playlist_extras.get("name", self._name)
        if self._info_sent or name is None:
            return None
        self._info_sent = True
        return PlaylistInfo(name, self._playlist_extras.get("description"))


def _then_raise(item: Item, error: FormatError) -> Iterator[Item]:
    """``item``, then ``error``: what a line gives that completes the playlist's info and is one entry too
    many."""
    yield item
    raise error


def _plain_fields(
    extinf: str | None, album: str | None, artist: str | None, entry_line: str
) -> dict[str, Any]:
    """The FileTrack fields (as keyword arguments) that an entry's plain lines give: what follows its
    ``#EXTINF:``, its ``#EXTALB`` and ``#EXTART`` values and its stripped entry line. The writer uses it
    to know what a reader ignoring our comment lines makes of a track."""
    duration_ms, display = _split_extinf(extinf) if extinf is not None else (None, "")
    display_artist, title = _split_display(display)
    if display_artist is not None:
        artist = display_artist
    location = None if entry_line == PLACEHOLDER_LOCATION else entry_line
    link = track_link(entry_line)
    return {
        "title": title or _title_from_location(location),
        "artists": (artist,) if artist else (),
        "album": album,
        "duration_ms": duration_ms,
        "provider_ids": {link.provider: link.id} if link and link.provider and link.id else {},
        "location": location,
        "mbid": link.mbid if link else None,
        "media_type": link.media_type if link else "track",
    }


def _after(directive: str, line: str) -> str | None:
    """What follows ``directive`` (any case) at the start of ``line``, else None."""
    return line[len(directive) :] if line[: len(directive)].upper() == directive else None


def _split_extinf(value: str) -> tuple[int | None, str]:
    """(duration in ms, the display text) of what follows ``#EXTINF:``."""
    comma = value.find(",")
    if comma < 0:
        comma = len(value)
    elif '"' in value[:comma]:  # attributes with quoted values: the first comma outside quotes
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
    if head[0].isascii() and head[0].isdigit():  # whole seconds (12 digits at most): exact as integers
        return int(head[0]) * 1000, display
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
    """The JSON object that ``text`` is, else {}. As json.loads reads it (JSON's blanks around it allowed),
    without its checks of what it is given."""
    text = text.strip(" \t\n\r")
    try:
        value, end = _JSON_DECODER.raw_decode(text)
    except (ValueError, RecursionError):
        return {}
    return value if end == len(text) and isinstance(value, dict) else {}


_JSON_DECODER = json.JSONDecoder()


def _decode_playlist_extras(text: str) -> dict[str, Any]:
    data = _decode_object(text)
    extras: dict[str, Any] = {}
    if isinstance(data.get("name"), str):
        extras["name"] = data["name"]
    if isinstance(data.get("description"), str):
        extras["description"] = data["description"]
    return extras


def _decode_extras(text: str) -> dict[str, Any]:
    """The fields an ``#EXTPM:`` line sets, those of the right type (a wrong one is ignored, not an error).
    JSON gives exact types (no subclasses), so ``type(...) in`` tells them apart, true and false from
    numbers included."""
    extras: dict[str, Any] = {}
    for key, value in _decode_object(text).items():
        kinds = _EXTRA_KINDS.get(key)
        if kinds is None or type(value) not in kinds:
            continue
        if value is None or key in _EXTRAS_AS_THEY_ARE:
            extras[key] = value
        elif key == "artists":
            if only_strings(value):
                extras[key] = tuple(value)
        elif key == "duration_ms":
            extras[key] = value if value >= 0 else None
        elif key == "isrc":
            extras[key] = clean_isrc(value)
        elif key == "provider_ids":
            if only_strings(value.values()):
                extras[key] = value
        elif key == "media_type":
            if value in _MEDIA_TYPES:
                extras[key] = value
        elif key == "added_at":
            try:
                added_at = datetime.fromisoformat(value)
            except ValueError:  # a date that is not ISO: ignored like any wrong field
                continue
            extras[key] = added_at
    return extras


# The types a field of an #EXTPM line may have (None: null, where the field may be unknown).
_EXTRA_KINDS: dict[str, tuple[type, ...]] = {
    "title": (str,),
    "artists": (list,),
    "album": (str, type(None)),
    "duration_ms": (int, type(None)),
    "isrc": (str, type(None)),
    "explicit": (bool, type(None)),
    "provider_ids": (dict,),
    "location": (str, type(None)),
    "mbid": (str, type(None)),
    "added_at": (str, type(None)),
    "media_type": (str,),
}
_EXTRAS_AS_THEY_ARE = frozenset({"title", "album", "explicit", "location", "mbid"})


# --- writing ---

_LINE_BREAKS = re.compile(r"\r\n|[\x00-\x08\x0a-\x1f]")
# json.dumps(..., ensure_ascii=False) without making an encoder for each line.
_JSON = json.JSONEncoder(ensure_ascii=False)


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
        out.write(_EXTPM_PLAYLIST + _JSON.encode(playlist_extras) + "\n")
    for track in tracks:
        out.write(_track_lines(track))


def _one_line(text: str) -> str:
    # Printable text has no line break or control character: no substitution to try.
    return text if text.isprintable() else _LINE_BREAKS.sub(" ", text)


def _track_lines(track: FileTrack) -> str:
    """A track's lines, each ending in "\\n": EXTINF, EXTALB, then an EXTPM line with the fields that
    differ from what a reader makes of the plain lines (computed as :class:`_Parser` computes them, from
    the same values), then the entry line."""
    display = ", ".join(track.artists) + " - " + track.title if track.artists else track.title
    duration_ms = track.duration_ms
    seconds = -1 if duration_ms is None or duration_ms < 0 else (duration_ms + 500) // 1000
    extinf = f"{seconds},{_one_line(display)}"
    block = "#EXTINF:" + extinf + "\n"
    album: str | None = None
    if track.album:
        album_line = _one_line(track.album)
        block += "#EXTALB:" + album_line + "\n"
        album = album_line.strip() or None
    entry_line = _entry_line(track)
    # The reader strips each line, then each directive's value (the EXTINF line's start is never blank).
    plain = _plain_fields(extinf.rstrip(), album, None, entry_line.strip())
    # In FileTrack's field order (the plain lines never give an ISRC, explicit or a date).
    extras: dict[str, Any] = {}
    if plain["title"] != track.title:
        extras["title"] = track.title
    if plain["artists"] != track.artists:
        extras["artists"] = list(track.artists)
    if plain["album"] != track.album:
        extras["album"] = track.album
    if plain["duration_ms"] != duration_ms:
        extras["duration_ms"] = duration_ms
    if track.isrc is not None:
        extras["isrc"] = track.isrc
    if track.explicit is not None:
        extras["explicit"] = track.explicit
    if plain["provider_ids"] != track.provider_ids:
        extras["provider_ids"] = track.provider_ids
    if plain["location"] != track.location:
        extras["location"] = track.location
    if plain["mbid"] != track.mbid:
        extras["mbid"] = track.mbid
    if track.added_at is not None:
        extras["added_at"] = track.added_at.isoformat()
    if plain["media_type"] != track.media_type:
        extras["media_type"] = track.media_type
    if extras:
        block += _EXTPM + _JSON.encode(extras) + "\n"
    return block + entry_line + "\n"


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
