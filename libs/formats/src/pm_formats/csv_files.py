"""The CSV family: Exportify (read and write, providers.md B4), Google Takeout's YouTube CSVs (B7) and the
TuneMyMusic / Soundiiz style of CSV (read).

Every reader decodes through :func:`pm_formats.text.text_stream` (BOM, UTF-8, else Latin-1) and feeds the
csv module from :func:`pm_formats.text.lines`, so no line is longer than ``MAX_LINE_BYTES`` (a longer one
is a :class:`FormatError` naming it) and no field is longer than the csv module's own limit (its default:
the limit is process-wide, so it is never changed here). A quoted field may span lines; its line breaks read
as "\\n". Blank rows are ignored.

Exportify: the header row in English (or an older export's English names) is mapped by name; a translated
one by position, when it has the 19 base columns, or those and the optional groups (Artist Genres; the 12
audio features; Album Genres, Label, Copyrights), optionally after a leading playlist-name column. The
playlist's name is not in the file (Exportify puts it in the file name: :func:`exportify_file_name`): give
it to :func:`read_exportify`. Formula injection: the writer puts a ``'`` before a cell that begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return (OWASP), and before one that already begins with
quotes followed by one of those, so that the reader, which removes exactly one leading ``'`` before them,
gives back what was written. What Exportify cannot hold: a location (but ``spotify:local:…`` URIs), the
provider ids but Spotify's, the mbid, a description, line breaks other than "\\n", empty artist names.

The generic CSV's columns, matched case- and accent-insensitively, punctuation ignored:
``track name``/``track``/``title``/``song``/``song name``/``song title``/``name``/``track title`` (the
title, required); ``artist``/``artist name``/``performer``/``creator``/``artist 1``… (one artist each) and
``artists``/``artist names``/``artist name(s)`` (several, split at ", "); ``album``/``album name``/
``album title``/``release``; ``isrc``; ``duration (ms)``/``duration_ms``/``length (ms)`` (milliseconds),
``duration (s)``/``duration (seconds)`` (seconds), ``duration``/``length``/``time`` (``m:ss``, else a number
of seconds below 10,000, else milliseconds); ``explicit``; ``playlist``/``playlist name`` (a change of value
starts the next playlist); any column naming ``spotify``, ``deezer``, ``tidal`` or ``youtube`` (an id, URI or
URL); ``url``/``link``/``uri``/``location``/``path`` (a link or path, kept as the location).
"""

from __future__ import annotations

import csv
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, TextIO

from pm_formats.errors import FormatError
from pm_formats.ids import clean_isrc
from pm_formats.limits import MAX_ENTRIES
from pm_formats.m3u import is_spotify_id, is_youtube_id, track_link
from pm_formats.model import Entry, FileTrack, Item, MediaType, PlaylistInfo, PlaylistStart, Skipped
from pm_formats.text import lines, text_stream

_Row = tuple[int, list[str]]

# --- reading CSV in bounded memory ---


class _Records:
    """(first line, cells) of each record of a CSV file, blank records included (as []): csv.reader reads
    from numbered lines, so a record's line is known and no line is longer than the limit."""

    def __init__(self, source: BinaryIO, delimiter: str | None = None) -> None:
        self._source = source
        self._delimiter = delimiter
        self._last_line = 0

    def __iter__(self) -> Iterator[_Row]:
        numbered = lines(text_stream(self._source))
        first = next(((n, line) for n, line in numbered if line.strip()), None)
        if first is None:
            return
        delimiter = self._delimiter or _delimiter(first[1])
        reader = csv.reader(self._feed(itertools.chain([first], numbered)), delimiter=delimiter)
        start = first[0]
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise FormatError(f"not CSV: {error}", self._last_line) from None
            yield start, cells
            start = self._last_line + 1

    def _feed(self, numbered: Iterator[tuple[int, str]]) -> Iterator[str]:
        for number, line in numbered:
            self._last_line = number
            yield line + "\n"


def _delimiter(header: str) -> str:
    """The one of ",", ";" and tab that a header line has most of outside quotes (",": a tie)."""
    unquoted = re.sub(r'"[^"]*"', "", header)
    return max((",", ";", "\t"), key=lambda candidate: (unquoted.count(candidate), candidate == ","))


def _head_records(head: str, delimiter: str | None = None) -> list[list[str]]:
    """The first records of a file's head (sniffing: no error, whatever the head)."""
    head = head.lstrip("\ufeff")
    text = head if len(head) < 4096 else head[: head.rfind("\n") + 1] or head
    line_list = text.splitlines()[:50]
    if not line_list:
        return []
    try:
        return list(csv.reader(line_list, delimiter=delimiter or _delimiter(line_list[0])))
    except csv.Error:
        return []


def _blank(cells: Sequence[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _non_blank(records: Iterable[_Row]) -> Iterator[_Row]:
    return ((line, cells) for line, cells in records if not _blank(cells))


def _key(header: str) -> str:
    """A header name to match loosely: case, accents and punctuation away ("Artist Name(s)" → "artist name s")."""
    decomposed = unicodedata.normalize("NFKD", header.casefold())
    plain = "".join(character for character in decomposed if not unicodedata.combining(character))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def _cell(cells: Sequence[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def _datetime(text: str) -> datetime | None:
    text = text.strip()
    if not text or len(text) > 64:
        return None
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class _Playlists:
    """The playlists of a CSV reader: the first begins at the top; a change in a playlist-name column
    begins the next. With such a column (``by_column``), its first value names the first playlist, and
    ``name`` (the file's) only where it is empty. Counts each playlist's entries against MAX_ENTRIES."""

    def __init__(self, name: str | None, by_column: bool = False) -> None:
        self._name = name
        self._by_column = by_column
        self._named = not by_column
        self._current: str | None = None
        self._entries = 0

    def begin(self) -> Iterator[Item]:
        yield PlaylistStart(line=1)
        if self._name is not None and not self._by_column:
            yield PlaylistInfo(self._name)

    def row(self, line: int, playlist: str) -> Iterator[Item]:
        playlist = playlist.strip()
        if not self._named:
            self._named = True
            self._current = playlist or None
            if playlist or self._name is not None:
                yield PlaylistInfo(playlist or str(self._name))
            return
        if not playlist or playlist == self._current:
            return
        if self._current is None:  # the first playlist had no name of the column's: now it has
            self._current = playlist
            yield PlaylistInfo(playlist)
            return
        self._current = playlist
        self._entries = 0
        yield PlaylistStart(line=line)
        yield PlaylistInfo(playlist)

    def entry(self, track: FileTrack, line: int) -> Entry:
        self._entries += 1
        if self._entries > MAX_ENTRIES:
            raise FormatError(f"more than {MAX_ENTRIES} entries in the playlist", line)
        return Entry(track, line)


# --- Exportify ---

EXPORTIFY_COLUMNS = (
    "Track URI",
    "Track Name",
    "Artist URI(s)",
    "Artist Name(s)",
    "Album URI",
    "Album Name",
    "Album Artist URI(s)",
    "Album Artist Name(s)",
    "Album Release Date",
    "Album Image URL",
    "Disc Number",
    "Track Number",
    "Track Duration (ms)",
    "Track Preview URL",
    "Explicit",
    "Popularity",
    "ISRC",
    "Added By",
    "Added At",
)
# Column counts of an export: the base columns and any of the optional groups (1, 12 and 3 columns).
_EXPORTIFY_COUNTS = frozenset(
    len(EXPORTIFY_COLUMNS) + sum(size for size, chosen in zip((1, 12, 3), choice, strict=True) if chosen)
    for choice in itertools.product((False, True), repeat=3)
)
# English header names, current and older, to what we read from them.
_EXPORTIFY_NAMES = {
    "track uri": "uri",
    "spotify uri": "uri",
    "uri": "uri",
    "spotify id": "spotify_id",
    "track name": "title",
    "artist name s": "artists",
    "artist names": "artists",
    "artist name": "artists",
    "album name": "album",
    "track duration ms": "duration",
    "duration ms": "duration",
    "explicit": "explicit",
    "isrc": "isrc",
    "added at": "added_at",
    "name": "playlist",
    "playlist name": "playlist",
}
# Names no other CSV here has: tell an older export's "Spotify ID" from TuneMyMusic's "Spotify - id".
_EXPORTIFY_ONLY = frozenset(
    {"album name", "added at", "added by", "duration ms", "track duration ms", "popularity"}
)
_EXPORTIFY_POSITIONS = {
    "uri": 0,
    "title": 1,
    "artists": 3,
    "album": 5,
    "duration": 12,
    "explicit": 14,
    "isrc": 16,
    "added_at": 18,
}
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")
_FORMULA_FIRST = frozenset("'=+-@\t\r")  # what a cell _FORMULA_START matches can begin with
_QUOTED_FORMULA_START = re.compile(r"'+[=+\-@\t\r]")
_ARTIST_SEPARATOR = re.compile(r"(?<!\\), ")
_FILE_NAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\<>:;"|=,.?*\[\] ]+')
_DIGITS = re.compile(r"\d{1,15}")


def exportify_file_name(name: str) -> str:
    """The file name Exportify gives a playlist's CSV: unsafe characters and spaces → "_", lower case,
    ".csv" (cut to 200 characters; "playlist.csv" for a name with nothing left)."""
    return (_FILE_NAME_UNSAFE.sub("_", name).lower()[:200] or "playlist") + ".csv"


def sniff_exportify(head: str) -> bool:
    """True when the head row has Exportify's English columns, or its column count with the first track's
    Spotify URI where Exportify puts it (a translated export)."""
    records = [cells for cells in _head_records(head, ",") if not _blank(cells)]
    if not records:
        return False
    keys = {_key(name) for name in records[0]}
    if "track name" in keys and keys & {"track uri", "spotify uri"}:
        return True
    if {"track name", "spotify id"} <= keys and keys & _EXPORTIFY_ONLY:  # older exports ("Spotify ID"…)
        return True
    offset = _exportify_offset(len(records[0]), records[1] if len(records) > 1 else None)
    if offset is None:
        return False
    if len(records) > 1:
        return _cell(records[1], offset).startswith("spotify:")
    return head.lstrip("\ufeff").startswith('"') and all(name.strip() for name in records[0])


def _exportify_offset(count: int, first_row: Sequence[str] | None) -> int | None:
    """Where the base columns begin in a translated header of ``count`` columns (after a playlist-name
    column, or not), judged by where the first row's URI is; None when the count is not Exportify's."""
    fits = [offset for offset in (0, 1) if count - offset in _EXPORTIFY_COUNTS]
    if len(fits) > 1 and first_row is not None:
        fits = [offset for offset in fits if _cell(first_row, offset).startswith("spotify:")] or fits
    return fits[0] if fits else None


def read_exportify(source: BinaryIO, name: str | None = None) -> Iterator[Item]:
    """The playlist of an Exportify CSV, named ``name`` (the file's name holds it, not the file; a
    playlist-name column, when there is one, names it otherwise). Lazily, in file order; rows with neither a
    track name nor a URI are Skipped. Raises :class:`FormatError` only."""
    records = _non_blank(_Records(source, ","))
    header_row = next(records, None)
    if header_row is None:
        raise FormatError("an empty file: not an Exportify CSV")
    header_line, header = header_row
    header = [cell.lstrip("\ufeff") for cell in header]
    columns: dict[str, int] = {}
    for index, column_name in enumerate(header):
        columns.setdefault(_EXPORTIFY_NAMES.get(_key(column_name), ""), index)
    columns.pop("", None)
    # Named columns, else (a translated header) positions, settled by the first row.
    settled = "title" in columns and ("uri" in columns or "spotify_id" in columns)
    if not settled and _exportify_offset(len(header), None) is None:
        raise FormatError(
            f"not an Exportify CSV: {len(header)} columns in the header row, none of them Exportify's",
            header_line,
        )
    playlists = _Playlists(name)
    yield from playlists.begin()
    indexes: tuple[int | None, ...] | None = None
    playlist_column: int | None = None
    for line, cells in records:
        if indexes is None:
            if not settled:
                offset = _exportify_offset(len(header), cells) or 0
                columns = {field: index + offset for field, index in _EXPORTIFY_POSITIONS.items()}
                if offset:
                    columns["playlist"] = 0
                settled = True
            indexes = tuple(columns.get(field_name) for field_name in _EXPORTIFY_FIELDS)
            playlist_column = columns.get("playlist")
        if playlist_column is not None:
            yield from playlists.row(line, _unformula(_cell(cells, playlist_column)))
        yield _exportify_row(playlists, line, cells, indexes)


# The fields read from an Exportify row, in the order _exportify_row takes them.
_EXPORTIFY_FIELDS = (
    "uri",
    "title",
    "spotify_id",
    "artists",
    "album",
    "duration",
    "isrc",
    "explicit",
    "added_at",
)


def _exportify_row(
    playlists: _Playlists, line: int, cells: Sequence[str], indexes: tuple[int | None, ...]
) -> Entry | Skipped:
    """The row's entry; ``indexes``: the column of each of ``_EXPORTIFY_FIELDS`` (None: no such column)."""
    count = len(cells)
    raw = [cells[index] if index is not None and index < count else "" for index in indexes]
    uri, title, spotify_id, artists, album, duration, isrc, explicit, added_at = [
        _unformula(cell) if cell[:1] == "'" else cell for cell in raw
    ]
    uri, spotify_id = uri.strip(), spotify_id.strip()
    if not title.strip() and not uri and not spotify_id:
        return Skipped("a row with neither a track name nor a track URI", line)
    link = track_link(uri)
    provider_ids = {"spotify": link.id} if link and link.provider == "spotify" and link.id else {}
    if not provider_ids and is_spotify_id(spotify_id):
        provider_ids = {"spotify": spotify_id}
    media_type: MediaType = link.media_type if link else "track"
    duration = duration.strip()
    track = FileTrack(
        title=title,
        artists=_split_artists(artists),
        album=album or None,
        duration_ms=int(duration) if _DIGITS.fullmatch(duration) else None,
        isrc=clean_isrc(isrc),
        explicit=_EXPLICIT.get(explicit.strip().casefold()),
        provider_ids=provider_ids,
        location=uri if media_type == "local" else None,
        added_at=_datetime(added_at),
        media_type=media_type,
    )
    return playlists.entry(track, line)


_EXPLICIT = {"true": True, "false": False}


def _unformula(cell: str) -> str:
    """A cell without the ``'`` a writer put before a formula-like start (see the module's docstring)."""
    return cell[1:] if _QUOTED_FORMULA_START.match(cell) else cell


def _split_artists(cell: str) -> tuple[str, ...]:
    if "\\" not in cell:  # no escaped comma: a plain split is the same, and quicker
        return tuple(name for name in cell.split(", ") if name)
    return tuple(name.replace("\\,", ",") for name in _ARTIST_SEPARATOR.split(cell) if name)


def write_exportify(info: PlaylistInfo, tracks: Iterable[FileTrack], out: TextIO) -> None:
    """Writes an Exportify CSV (text; Exportify's files are UTF-8) with its 19 English base columns, every
    field quoted, one track at a time, in order. ``info`` is not in the file: name the file with
    :func:`exportify_file_name`. Cells that a spreadsheet would run as formulas are quoted with ``'``."""
    del info  # Exportify keeps the playlist's name in the file's name only
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(EXPORTIFY_COLUMNS)
    # Row by row as the tracks come (writerows takes one row at a time from the generator).
    writer.writerows(
        [_safe_cell(cell) if cell else cell for cell in _exportify_cells(track)] for track in tracks
    )


def _exportify_cells(track: FileTrack) -> list[str]:
    spotify_id = track.provider_ids.get("spotify", "")
    if track.media_type == "local" and track.location and track.location.startswith("spotify:local:"):
        uri = track.location
    elif is_spotify_id(spotify_id):
        uri = f"spotify:{'episode' if track.media_type == 'episode' else 'track'}:{spotify_id}"
    else:
        uri = ""
    duration = str(track.duration_ms) if track.duration_ms is not None and track.duration_ms >= 0 else ""
    explicit = "" if track.explicit is None else str(track.explicit).lower()
    added_at = ""
    if track.added_at is not None:
        added_at = track.added_at.isoformat()
        added_at = added_at[:-6] + "Z" if added_at.endswith("+00:00") else added_at
    artists = ", ".join(name.replace(",", "\\,") for name in track.artists)
    # In EXPORTIFY_COLUMNS' order; what we do not know (other URIs, numbers, popularity…) is left empty.
    return [
        uri,
        track.title,
        "",
        artists,
        "",
        track.album or "",
        *([""] * 6),
        duration,
        "",
        explicit,
        "",
        clean_isrc(track.isrc) or "",
        "",
        added_at,
    ]


def _safe_cell(text: str) -> str:
    """A cell as written: line breaks as "\\n" (all a CSV reader gives back), a formula-like start quoted."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + text if text[:1] in _FORMULA_FIRST and _FORMULA_START.match(text) else text


# --- Google Takeout (YouTube and YouTube Music) ---

_TITLE_KEYS = frozenset({"title", "playlist title", "titel", "titre", "titulo", "titolo"})


def _names_video_id(header: str) -> bool:
    words = _key(header).split()
    return ("id" in words and ("video" in words or "videos" in words)) or "videoid" in words


def sniff_takeout(head: str) -> bool:
    """True for a Takeout playlist's videos CSV (``Video ID`` first, localized or not; the pre-2023 shape
    with its metadata block) or ``music library songs.csv``."""
    records = [cells for cells in _head_records(head, ",") if not _blank(cells)]
    if not records:
        return False
    header = records[0]
    if any(_names_video_id(name) for name in header):
        return len(header) <= 2 or any(_key(name).startswith(("song title", "artist")) for name in header)
    if _key(header[0]) == "playlist id" and len(records) > 2 and _names_video_id(records[2][0]):
        return True
    return (
        len(header) == 2
        and len(records) > 1
        and is_youtube_id(records[1][0].strip())
        and not is_youtube_id(header[0])
    )


def read_takeout_playlist(source: BinaryIO, name: str | None = None) -> Iterator[Item]:
    """The playlist of a Takeout ``<Title>-videos.csv``: each entry a video (its id as the title: the file
    has no titles), with its time added. ``name``, else the pre-2023 metadata block's title, names it. The
    id column is the one named like "Video ID", else the one whose values are video ids; a row whose id is
    not one is Skipped. Lazily, in file order; raises :class:`FormatError` only."""
    records = iter(_Records(source, ","))
    rows = _non_blank(records)
    first = next(rows, None)
    if first is None:
        raise FormatError("an empty file: not a Takeout playlist CSV")
    header_line, header = first
    header = [cell.lstrip("\ufeff") for cell in header]
    ahead: list[_Row] = []
    if not any(_names_video_id(cell) for cell in header):
        # Pre-2023: the playlist's metadata (a header and one row), a blank line, then the videos.
        for record in records:
            ahead.append(record)
            if _blank(record[1]) or len(ahead) == 2:
                break
        if (
            ahead
            and _blank(ahead[-1][1])
            and len(ahead) == 2
            and not is_youtube_id(_cell(ahead[0][1], 0).strip())
        ):
            title_column = next((i for i, cell in enumerate(header) if _key(cell) in _TITLE_KEYS), None)
            if name is None:
                name = _cell(ahead[0][1], title_column).strip() or None
            ahead = []
            videos_header = next(rows, None)
            if videos_header is None:
                yield from _Playlists(name).begin()
                return
            header_line, header = videos_header
    ahead = [row for row in ahead if not _blank(row[1])]
    id_column = next((i for i, cell in enumerate(header) if _names_video_id(cell)), None)
    time_column = next(
        (
            i
            for i, cell in enumerate(header)
            if i != id_column and re.search(r"time|date|added|creat", _key(cell))
        ),
        None,
    )
    if id_column is None or time_column is None:
        ahead.extend(itertools.islice(rows, 20 - len(ahead)))
        if id_column is None:
            id_column = _column_by_values(header, ahead, is_youtube_id)
            if id_column is None and ahead:
                raise FormatError("no column of YouTube video ids", header_line)
        if time_column is None:
            time_column = _column_by_values(
                header, ahead, lambda text: _datetime(text) is not None, id_column
            )
    playlists = _Playlists(name)
    yield from playlists.begin()
    for line, cells in itertools.chain(ahead, rows):
        video_id = _cell(cells, id_column).strip()
        if not is_youtube_id(video_id):
            yield Skipped(f"not a YouTube video id: {video_id[:40]!r}", line)
            continue
        track = FileTrack(
            title=video_id,
            provider_ids={"youtube": video_id},
            added_at=_datetime(_cell(cells, time_column)),
            media_type="track",
        )
        yield playlists.entry(track, line)


def _column_by_values(
    header: Sequence[str], sample: Sequence[_Row], looks_right: Callable[[str], bool], but: int | None = None
) -> int | None:
    """The column (not ``but``) where most of the sample's values look right; None when none does."""
    counts = [
        (sum(looks_right(_cell(cells, index).strip()) for _, cells in sample), -index)
        for index in range(max([len(header), *(len(cells) for _, cells in sample)]))
        if index != but
    ]
    best = max(counts, default=(0, 0))
    return -best[1] if best[0] else None


def read_takeout_music_library(source: BinaryIO) -> Iterator[Item]:
    """The songs of Takeout's ``music library songs.csv`` as one playlist without a name: ``Video ID``,
    ``Song Title``, ``Album Title``, ``Artist Name 1``… (localized headers: by these positions). A row whose
    id is not a video id is Skipped. Lazily, in file order; raises :class:`FormatError` only."""
    rows = _non_blank(_Records(source, ","))
    first = next(rows, None)
    if first is None:
        raise FormatError("an empty file: not a Takeout music library CSV")
    _, header = first
    keys = [_key(cell.lstrip("\ufeff")) for cell in header]
    id_column, title_column = 0, 1
    album_column: int | None = 2
    artist_columns = list(range(3, len(header)))
    named_id = next((i for i, cell in enumerate(header) if _names_video_id(cell)), None)
    named_title = next(
        (i for i, key in enumerate(keys) if "title" in key.split() and "album" not in key), None
    )
    if named_id is not None and named_title is not None:  # English names, in whatever order
        id_column, title_column = named_id, named_title
        album_column = next((i for i, key in enumerate(keys) if "album" in key.split()), None)
        artist_columns = [i for i, key in enumerate(keys) if "artist" in key.split()]
    playlists = _Playlists(None)
    yield from playlists.begin()
    for line, cells in rows:
        video_id = _cell(cells, id_column).strip()
        if not is_youtube_id(video_id):
            yield Skipped(f"not a YouTube video id: {video_id[:40]!r}", line)
            continue
        track = FileTrack(
            title=_cell(cells, title_column).strip() or video_id,
            artists=tuple(artist for i in artist_columns if (artist := _cell(cells, i).strip())),
            album=_cell(cells, album_column).strip() or None,
            provider_ids={"youtube": video_id},
        )
        yield playlists.entry(track, line)


# --- TuneMyMusic / Soundiiz style ---

_GENERIC_TITLES = frozenset(
    {
        "track name",
        "track",
        "title",
        "song",
        "song name",
        "song title",
        "name",
        "track title",
        "titel",
        "titre",
    }
)
_GENERIC_ARTIST = frozenset(
    {"artist", "artist name", "performer", "creator", "interpret", "artiste", "main artist"}
)
_GENERIC_ARTISTS = frozenset({"artists", "artist names", "artist name s", "artist s", "performers"})
_GENERIC_ALBUMS = frozenset({"album", "album name", "album title", "release", "release name"})
_GENERIC_PLAYLISTS = frozenset({"playlist", "playlist name", "playlist title"})
_GENERIC_LINKS = frozenset({"url", "link", "uri", "location", "path", "track url", "track uri", "track link"})
_DURATION_MS = frozenset({"duration ms", "length ms", "track duration ms", "time ms"})
_DURATION_S = frozenset({"duration s", "duration seconds", "duration sec", "length s", "length seconds"})
_DURATION_ANY = frozenset({"duration", "length", "time", "track duration"})
_PROVIDERS = ("spotify", "deezer", "tidal", "youtube")
_NUMBER = re.compile(r"\d{1,12}(?:\.\d{1,6})?")
_CLOCK = re.compile(r"(?:(\d{1,3}):)?(\d{1,3}):(\d{2})(?:\.\d{1,3})?")
_BARE_IDS: dict[str, Callable[[str], bool]] = {
    "spotify": is_spotify_id,
    "youtube": is_youtube_id,
    "deezer": lambda text: re.fullmatch(r"\d{1,20}", text) is not None,
    "tidal": lambda text: re.fullmatch(r"\d{1,20}", text) is not None,
}


@dataclass
class _GenericColumns:
    title: int | None = None
    artists: list[tuple[int, bool]] = field(default_factory=list)  # (column, holds several)
    album: int | None = None
    isrc: int | None = None
    duration: tuple[int, str] | None = None  # (column, "ms" | "s" | "any")
    explicit: int | None = None
    playlist: int | None = None
    providers: list[tuple[int, str]] = field(default_factory=list)
    links: list[int] = field(default_factory=list)


def _generic_columns(header: Sequence[str]) -> _GenericColumns:
    columns = _GenericColumns()
    for index, name in enumerate(header):
        key = _key(name.lstrip("\ufeff"))
        words = key.split()
        provider = next((p for p in _PROVIDERS if p in words), None)
        if provider is not None:
            columns.providers.append((index, provider))
        elif "isrc" in words:
            columns.isrc = index if columns.isrc is None else columns.isrc
        elif key in _GENERIC_TITLES and columns.title is None:
            columns.title = index
        elif key in _GENERIC_ARTIST or re.fullmatch(r"artist(?: name)? \d{1,2}", key):
            columns.artists.append((index, False))
        elif key in _GENERIC_ARTISTS:
            columns.artists.append((index, True))
        elif key in _GENERIC_ALBUMS and columns.album is None:
            columns.album = index
        elif key in _GENERIC_PLAYLISTS and columns.playlist is None:
            columns.playlist = index
        elif key == "explicit" and columns.explicit is None:
            columns.explicit = index
        elif key in _GENERIC_LINKS:
            columns.links.append(index)
        elif columns.duration is None and key in _DURATION_MS | _DURATION_S | _DURATION_ANY:
            unit = "ms" if key in _DURATION_MS else "s" if key in _DURATION_S else "any"
            columns.duration = (index, unit)
    return columns


def sniff_generic_csv(head: str) -> bool:
    """True when the head row names a title column and an artist, album, ISRC or provider column (and the
    file is not an Exportify or Takeout CSV, which have readers of their own)."""
    if sniff_exportify(head) or sniff_takeout(head):
        return False
    records = [cells for cells in _head_records(head) if not _blank(cells)]
    if not records or len(records[0]) < 2:
        return False
    columns = _generic_columns(records[0])
    others = columns.artists or columns.album is not None or columns.isrc is not None or columns.providers
    return columns.title is not None and bool(others)


def read_generic_csv(source: BinaryIO, name: str | None = None) -> Iterator[Item]:
    """The playlists of a TuneMyMusic / Soundiiz style CSV (columns: see the module's docstring; the
    delimiter ",", ";" or tab, whichever the header row has most of). A playlist-name column names the
    playlists, else ``name`` does. Rows without a title are Skipped. Lazily, in file order; raises
    :class:`FormatError` only."""
    rows = _non_blank(_Records(source))
    first = next(rows, None)
    if first is None:
        raise FormatError("an empty file: not a playlist CSV")
    header_line, header = first
    columns = _generic_columns(header)
    if columns.title is None:
        raise FormatError(
            "no column of track titles (Track name, Title, Song…) in the header row", header_line
        )
    playlists = _Playlists(name, by_column=columns.playlist is not None)
    yield from playlists.begin()
    for line, cells in rows:
        yield from playlists.row(line, _cell(cells, columns.playlist))
        title = _cell(cells, columns.title).strip()
        if not title:
            yield Skipped("a row without a track title", line)
            continue
        yield playlists.entry(_generic_track(title, cells, columns), line)


def _generic_track(title: str, cells: Sequence[str], columns: _GenericColumns) -> FileTrack:
    artists: list[str] = []
    for index, several in columns.artists:
        cell = _cell(cells, index).strip()
        artists.extend(_split_artists(cell) if several else [cell] if cell else [])
    provider_ids: dict[str, str] = {}
    media_type: MediaType = "track"
    mbid: str | None = None
    location: str | None = None
    for index, provider in columns.providers:
        cell = _cell(cells, index).strip()
        link = track_link(cell)
        if link is not None and link.provider and link.id:
            provider_ids.setdefault(link.provider, link.id)
            media_type = link.media_type
        elif _BARE_IDS[provider](cell):
            provider_ids.setdefault(provider, cell)
    for index in columns.links:
        cell = _cell(cells, index).strip()
        if not cell:
            continue
        location = location or cell
        link = track_link(cell)
        if link is not None:
            if link.provider and link.id:
                provider_ids.setdefault(link.provider, link.id)
            media_type = link.media_type
            mbid = mbid or link.mbid
    explicit = _cell(cells, columns.explicit).strip().casefold()
    return FileTrack(
        title=title,
        artists=tuple(artists),
        album=_cell(cells, columns.album).strip() or None,
        duration_ms=_duration(_cell(cells, columns.duration[0]), columns.duration[1])
        if columns.duration
        else None,
        isrc=clean_isrc(_cell(cells, columns.isrc)) if columns.isrc is not None else None,
        explicit={"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(
            explicit
        ),
        provider_ids=provider_ids,
        location=location,
        mbid=mbid,
        media_type=media_type,
    )


def _duration(text: str, unit: str) -> int | None:
    """Milliseconds from ``m:ss`` / ``h:mm:ss``, or a number in ``unit`` ("any": seconds below 10,000)."""
    text = text.strip()
    if clock := _CLOCK.fullmatch(text):
        hours, minutes, seconds = (int(part) if part else 0 for part in clock.groups())
        return ((hours * 60 + minutes) * 60 + seconds) * 1000
    if not _NUMBER.fullmatch(text):
        return None
    number = float(text)
    if unit == "ms" or (unit == "any" and number >= 10_000):
        return round(number)
    return round(number * 1000)
