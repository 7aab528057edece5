"""Derivation of the per-provider catalogs from the real Spotify playlist data set.

Pure functions only: ``tools/build_catalogs.py`` reads the CSV, calls :func:`derive_catalogs` and
writes the result. Every decision (which tracks a service lacks, how it spells a title, how its
duration differs) is a function of a seeded hash of stable inputs, never of iteration order or a
global RNG, so a rebuild from the same CSV and seed gives the same catalogs byte for byte.

The kinds of difference follow what real stores show (see ``../shared/data/itunes-amazon``):
Deezer splits a Spotify ``" - Radio Edit"`` suffix into ``title_version``, TIDAL keeps it in
``version``, YouTube titles are ``"Artist - Title (Official Video)"`` with longer durations,
MusicBrainz moves featured artists into the artist credit, some services write ``&`` as ``and`` or
title-case words, durations differ by a second or two, some tracks are missing on a service and
some lack an ISRC.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

SEED = "pm-provider-emulator-v1"
MB_NAMESPACE = uuid.UUID("6f6e1c1e-5a8b-4c1f-9a55-7d0c0c7e2b11")
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
YT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# How many distinct source tracks the derived catalogs hold. Above 10,000 on every service
# (YouTube lacks ~8 %) so a 10,000-track playlist of distinct tracks can be built anywhere.
CATALOG_SIZE = 11_200
# Stop adding real playlists once their distinct tracks reach this number.
PLAYLIST_TRACK_TARGET = 3_000

MISSING_RATE = {"deezer": 0.04, "tidal": 0.05, "youtube": 0.08, "musicbrainz": 0.10}
EXPLICIT_RATE = {"rap": 0.45, "r&b": 0.2, "latin": 0.15, "pop": 0.1, "edm": 0.08, "rock": 0.06}
ISRC_COUNTRIES = ("US", "GB", "SE", "DE", "FR", "NL", "CA", "AU", "QM", "QZ", "ES", "IT", "BR", "JP")


def hash_int(*parts: object, seed: str = SEED) -> int:
    """A stable 64-bit integer for ``parts`` (sha256 of the joined parts and the seed)."""
    raw = "\x1f".join([seed, *map(str, parts)]).encode()
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big")


def hash_frac(*parts: object, seed: str = SEED) -> float:
    """A stable number in [0, 1) for ``parts``."""
    return hash_int(*parts, seed=seed) / 2**64


def encode(n: int, alphabet: str, length: int) -> str:
    out = []
    for _ in range(length):
        n, r = divmod(n, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


def base62_id(*parts: object) -> str:
    """A Spotify-style 22-character base62 id."""
    h = hashlib.sha256("\x1f".join([SEED, *map(str, parts)]).encode()).digest()
    return encode(int.from_bytes(h, "big"), B62, 22)


def normalize(text: str) -> str:
    """Lower-case, strip accents-free punctuation and collapse spaces (for grouping and search)."""
    text = text.lower().replace("&", " and ")
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class SourceTrack:
    """One distinct Spotify track of the CSV (first row wins for its metadata)."""

    track_id: str
    name: str
    artist: str
    popularity: int
    album_id: str
    album_name: str
    release_date: str
    genre: str
    duration_ms: int


@dataclass(frozen=True, slots=True)
class SourcePlaylist:
    playlist_id: str
    name: str
    genre: str
    subgenre: str
    track_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TitleParts:
    """A Spotify title taken apart: ``"<base> (feat. X) - <suffix>"``."""

    base: str  # without the featuring clause and without the " - suffix"
    feat_word: str  # "feat.", "with", "ft." or ""
    featured: tuple[str, ...]
    suffix: str  # "Radio Edit", "2011 Remaster", "" ...

    @property
    def base_with_feat(self) -> str:
        if not self.featured:
            return self.base
        return f"{self.base} ({self.feat_word} {join_names(self.featured)})"


_FEAT_RE = re.compile(r"\s*[\(\[](feat\.|ft\.|featuring|with)\s+([^\)\]]+)[\)\]]", re.IGNORECASE)


def join_names(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " & " + names[-1]


def split_names(text: str) -> tuple[str, ...]:
    parts = re.split(r",\s*|\s+&\s+|\s+and\s+", text.strip())
    return tuple(p.strip() for p in parts if p.strip())


def parse_title(name: str) -> TitleParts:
    """Take a Spotify track name apart into base title, featured artists and version suffix."""
    base, suffix = name, ""
    if " - " in name:
        head, tail = name.rsplit(" - ", 1)
        if head.strip() and tail.strip():
            base, suffix = head.strip(), tail.strip()
    feat_word, featured = "", tuple[str, ...]()
    m = _FEAT_RE.search(base)
    if m:
        feat_word = m.group(1)
        featured = split_names(m.group(2))
        base = (base[: m.start()] + base[m.end() :]).strip()
    return TitleParts(base=base or name, feat_word=feat_word, featured=featured, suffix=suffix)


def title_case(text: str) -> str:
    """Capitalise every word, the way some stores write titles ("Silver and Gold" → "Silver And Gold")."""
    return " ".join(w[:1].upper() + w[1:] if w[:1].isalpha() else w for w in text.split(" "))


def swap_and(text: str) -> str:
    if " & " in text:
        return text.replace(" & ", " and ")
    if " and " in text:
        return text.replace(" and ", " & ")
    return text


def full_date(release_date: str) -> str:
    parts = release_date.split("-")
    while len(parts) < 3:
        parts.append("01")
    return "-".join(parts[:3])


def release_year(release_date: str) -> int:
    try:
        return int(release_date[:4])
    except ValueError:
        return 2000


# ---------------------------------------------------------------- selection


def select_playlists(
    playlists: Sequence[SourcePlaylist], target: int = PLAYLIST_TRACK_TARGET
) -> list[SourcePlaylist]:
    """Real playlists in a seeded order, round-robin over genres, until ``target`` distinct tracks."""
    by_genre: dict[str, list[SourcePlaylist]] = defaultdict(list)
    for p in sorted(playlists, key=lambda p: hash_int("playlist", p.playlist_id)):
        by_genre[p.genre].append(p)
    genres = sorted(by_genre)
    chosen: list[SourcePlaylist] = []
    seen: set[str] = set()
    while len(seen) < target and any(by_genre.values()):
        for g in genres:
            if by_genre[g] and len(seen) < target:
                p = by_genre[g].pop(0)
                chosen.append(p)
                seen.update(p.track_ids)
    return chosen


def select_tracks(
    tracks: dict[str, SourceTrack], chosen: Sequence[SourcePlaylist], size: int = CATALOG_SIZE
) -> list[str]:
    """Tracks of the chosen playlists, their same-title-and-artist siblings (hard negatives), then filler."""
    selected: dict[str, None] = {}
    for p in chosen:
        for t in p.track_ids:
            selected.setdefault(t, None)
    by_key: dict[tuple[str, str], list[str]] = defaultdict(list)
    for track in tracks.values():
        by_key[(normalize(parse_title(track.name).base), normalize(track.artist))].append(track.track_id)
    for t in list(selected):
        src = tracks[t]
        for sib in sorted(by_key[(normalize(parse_title(src.name).base), normalize(src.artist))]):
            selected.setdefault(sib, None)
    rest = sorted((t for t in tracks if t not in selected), key=lambda t: hash_int("filler", t))
    for t in rest:
        if len(selected) >= size:
            break
        selected[t] = None
    return list(selected)


# ---------------------------------------------------------------- recordings


@dataclass(slots=True)
class Recording:
    rec: int
    isrc: str
    mbid: str
    title: str
    artist: str
    featured: tuple[str, ...]
    duration_ms: int
    explicit: bool
    genre: str
    track_ids: list[str] = field(default_factory=list)


def group_recordings(tracks: Sequence[SourceTrack]) -> list[list[SourceTrack]]:
    """Tracks with the same title and artist and durations within 2 s are one recording (one ISRC)."""
    groups: dict[tuple[str, str], list[SourceTrack]] = defaultdict(list)
    for t in tracks:
        groups[(normalize(t.name), normalize(t.artist))].append(t)
    out: list[list[SourceTrack]] = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda t: (t.duration_ms, t.track_id))
        cluster: list[SourceTrack] = [members[0]]
        for t in members[1:]:
            if t.duration_ms - cluster[-1].duration_ms <= 2000:
                cluster.append(t)
            else:
                out.append(cluster)
                cluster = [t]
        out.append(cluster)
    out.sort(key=lambda c: min(t.track_id for t in c))
    return out


def make_isrc(key: str, year: int, taken: set[str]) -> str:
    n = hash_int("isrc", key)
    country = ISRC_COUNTRIES[n % len(ISRC_COUNTRIES)]
    registrant = encode(n // 97, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 3)
    designation = (n // 7919) % 100_000
    while True:
        isrc = f"{country}{registrant}{year % 100:02d}{designation:05d}"
        if isrc not in taken:
            taken.add(isrc)
            return isrc
        designation = (designation + 1) % 100_000


def build_recordings(tracks: Sequence[SourceTrack]) -> tuple[list[Recording], dict[str, int]]:
    recordings: list[Recording] = []
    rec_of: dict[str, int] = {}
    taken: set[str] = set()
    for i, cluster in enumerate(group_recordings(tracks)):
        first = min(cluster, key=lambda t: t.track_id)
        parts = parse_title(first.name)
        year = min(release_year(t.release_date) for t in cluster)
        isrc = make_isrc(first.track_id, year, taken)
        explicit = hash_frac("explicit", first.track_id) < EXPLICIT_RATE.get(first.genre, 0.1)
        rec = Recording(
            rec=i,
            isrc=isrc,
            mbid=str(uuid.uuid5(MB_NAMESPACE, f"recording:{isrc}")),
            title=parts.base,
            artist=first.artist,
            featured=parts.featured,
            duration_ms=first.duration_ms,
            explicit=explicit,
            genre=first.genre,
            track_ids=sorted(t.track_id for t in cluster),
        )
        recordings.append(rec)
        for t in cluster:
            rec_of[t.track_id] = i
    return recordings, rec_of


# ---------------------------------------------------------------- per-provider rows


def unique_number(key: str, low: int, span: int, taken: set[int]) -> int:
    n = low + hash_int("num", key) % span
    while n in taken:
        n += 1
    taken.add(n)
    return n


def spotify_row(t: SourceTrack, rec: Recording) -> list[Any]:
    parts = parse_title(t.name)
    artists = [t.artist, *[a for a in parts.featured if a != t.artist]]
    album_type = "single" if normalize(t.album_name) == normalize(parts.base_with_feat) else "album"
    isrc: str | None = rec.isrc if hash_frac("sp-noisrc", t.track_id) >= 0.01 else None
    playable = hash_frac("sp-playable", t.track_id) >= 0.02
    track_number = 1 if album_type == "single" else 1 + hash_int("tn", t.track_id) % 14
    return [
        t.track_id,
        rec.rec,
        t.name,
        artists,
        t.album_id,
        t.album_name,
        album_type,
        t.release_date,
        t.duration_ms,
        rec.explicit,
        isrc,
        playable,
        t.popularity,
        track_number,
    ]


SPOTIFY_FIELDS = [
    "id",
    "rec",
    "name",
    "artists",
    "album_id",
    "album_name",
    "album_type",
    "release_date",
    "duration_ms",
    "explicit",
    "isrc",
    "playable",
    "popularity",
    "track_number",
]


def deezer_row(t: SourceTrack, rec: Recording, ids: set[int], album_ids: dict[str, int]) -> list[Any] | None:
    if hash_frac("dz-missing", t.track_id) < MISSING_RATE["deezer"]:
        return None
    parts = parse_title(t.name)
    short = parts.base_with_feat
    if hash_frac("dz-case", t.track_id) < 0.05:
        short = title_case(short)
    version = f"({parts.suffix})" if parts.suffix else ""
    title = f"{short} {version}".strip()
    artist = t.artist
    if hash_frac("dz-and", t.artist) < 0.3:
        artist = swap_and(artist)
    contributors = [artist, *[a for a in parts.featured if a != t.artist]]
    jitter = hash_frac("dz-dur", t.track_id)
    seconds = round(t.duration_ms / 1000) + (-1 if jitter < 0.08 else 1 if jitter < 0.15 else 0)
    isrc = rec.isrc if hash_frac("dz-noisrc", t.track_id) >= 0.02 else ""
    album_key = t.album_id
    if album_key not in album_ids:
        album_ids[album_key] = unique_number("dz-album:" + album_key, 100_000_000, 800_000_000, ids)
    album_title = t.album_name
    if hash_frac("dz-album-title", t.album_id) < 0.15:
        album_title = re.sub(r"\s*[\(\[]Deluxe[^\)\]]*[\)\]]", " (Deluxe)", album_title)
    rank = t.popularity * 10_000 + hash_int("dz-rank", t.track_id) % 10_000
    readable = hash_frac("dz-readable", t.track_id) >= 0.02
    return [
        unique_number("dz:" + t.track_id, 1_000_000, 3_000_000_000, ids),
        rec.rec,
        t.track_id,
        title,
        short,
        version,
        contributors,
        album_ids[album_key],
        album_title,
        full_date(t.release_date),
        seconds,
        rec.explicit,
        isrc,
        readable,
        rank,
    ]


DEEZER_FIELDS = [
    "id",
    "rec",
    "src",
    "title",
    "title_short",
    "title_version",
    "artists",
    "album_id",
    "album_title",
    "release_date",
    "duration",
    "explicit",
    "isrc",
    "readable",
    "rank",
]


def tidal_row(t: SourceTrack, rec: Recording, ids: set[int], album_ids: dict[str, int]) -> list[Any] | None:
    if hash_frac("td-missing", t.track_id) < MISSING_RATE["tidal"]:
        return None
    parts = parse_title(t.name)
    title = parts.base_with_feat
    if parts.featured and hash_frac("td-feat", t.track_id) < 0.25:
        title = parts.base  # featured artists only in the artists relationship
    artists = [t.artist, *[a for a in parts.featured if a != t.artist]]
    jitter = hash_frac("td-dur", t.track_id)
    seconds = t.duration_ms // 1000
    if jitter < 0.02:
        seconds += 5 + hash_int("td-dur2", t.track_id) % 11  # another master
    elif jitter < 0.12:
        seconds += 1
    isrc: str | None = rec.isrc if hash_frac("td-noisrc", t.track_id) >= 0.03 else None
    if t.album_id not in album_ids:
        album_ids[t.album_id] = unique_number("td-album:" + t.album_id, 10_000_000, 400_000_000, ids)
    available = hash_frac("td-avail", t.track_id) >= 0.02
    return [
        str(unique_number("td:" + t.track_id, 10_000_000, 400_000_000, ids)),
        rec.rec,
        t.track_id,
        title,
        parts.suffix or None,
        artists,
        str(album_ids[t.album_id]),
        t.album_name,
        full_date(t.release_date),
        seconds,
        rec.explicit,
        isrc,
        available,
        round(t.popularity / 100, 2),
    ]


TIDAL_FIELDS = [
    "id",
    "rec",
    "src",
    "title",
    "version",
    "artists",
    "album_id",
    "album_title",
    "release_date",
    "duration",
    "explicit",
    "isrc",
    "available",
    "popularity",
]


def youtube_row(t: SourceTrack, rec: Recording, ids: set[str]) -> list[Any] | None:
    if hash_frac("yt-missing", t.track_id) < MISSING_RATE["youtube"]:
        return None
    parts = parse_title(t.name)
    style = hash_frac("yt-style", t.track_id)
    suffix = f" ({parts.suffix})" if parts.suffix else ""
    seconds = round(t.duration_ms / 1000)
    if style < 0.45:  # auto-generated "Artist - Topic" upload: the store title, same duration
        title = parts.base_with_feat + suffix
        channel = f"{t.artist} - Topic"
    elif style < 0.8:  # official music video: longer intro/outro
        feat = f" ft. {join_names(parts.featured)}" if parts.featured else ""
        title = f"{t.artist} - {parts.base}{feat}{suffix} (Official Video)"
        channel = re.sub(r"[^A-Za-z0-9]", "", t.artist) + "VEVO" if style < 0.6 else t.artist
        seconds += 5 + hash_int("yt-dur", t.track_id) % 36
    else:  # official audio on the artist channel
        title = f"{t.artist} - {parts.base_with_feat}{suffix} (Official Audio)"
        channel = t.artist
        seconds += 1 if hash_frac("yt-dur1", t.track_id) < 0.3 else 0
    vid = encode(hash_int("yt:" + t.track_id), YT_ALPHABET, 11)
    while vid in ids:
        vid = encode(hash_int("yt:" + vid), YT_ALPHABET, 11)
    ids.add(vid)
    digest = hashlib.sha256(f"{SEED}:yt-channel:{channel}".encode()).digest()
    channel_id = "UC" + encode(int.from_bytes(digest, "big"), YT_ALPHABET, 22)
    published = full_date(t.release_date) + "T" + f"{hash_int('yt-h', t.track_id) % 24:02d}:00:00Z"
    available = hash_frac("yt-avail", t.track_id) >= 0.02
    return [vid, rec.rec, t.track_id, title, channel, channel_id, seconds, published, available]


YOUTUBE_FIELDS = [
    "id",
    "rec",
    "src",
    "title",
    "channel_title",
    "channel_id",
    "duration",
    "published_at",
    "available",
]

_MB_LOWER = re.compile(r"\b(Remix|Mix|Edit|Version|Live|Acoustic|Extended|Radio|Club|Original)\b")


def musicbrainz_row(rec: Recording, first: SourceTrack) -> list[Any] | None:
    if hash_frac("mb-missing", rec.isrc) < MISSING_RATE["musicbrainz"]:
        return None
    parts = parse_title(first.name)
    title = rec.title
    if parts.suffix and not re.search(r"remaster", parts.suffix, re.IGNORECASE):
        title = f"{title} ({_MB_LOWER.sub(lambda m: m.group(1).lower(), parts.suffix)})"
    credit: list[list[str]] = []
    names = [rec.artist, *[a for a in rec.featured if a != rec.artist]]
    for i, name in enumerate(names):
        if i == len(names) - 1:
            join = ""
        elif i == 0:
            join = " feat. "
        elif i == len(names) - 2:
            join = " & "
        else:
            join = ", "
        credit.append([name, join])
    length: int | None = rec.duration_ms
    if hash_frac("mb-nolength", rec.isrc) < 0.03:
        length = None
    elif hash_frac("mb-len", rec.isrc) < 0.2:
        length = rec.duration_ms + (hash_int("mb-len2", rec.isrc) % 1500) - 750
    isrcs = [rec.isrc]
    if hash_frac("mb-2isrc", rec.isrc) < 0.02:
        isrcs.append(make_isrc("alt:" + rec.isrc, release_year(first.release_date), set()))
    release_mbid = str(uuid.uuid5(MB_NAMESPACE, f"release:{first.album_id}"))
    return [
        rec.mbid,
        rec.rec,
        isrcs,
        title,
        credit,
        length,
        first.album_name,
        release_mbid,
        full_date(first.release_date),
    ]


MUSICBRAINZ_FIELDS = [
    "id",
    "rec",
    "isrcs",
    "title",
    "artist_credit",
    "length",
    "release_title",
    "release_id",
    "first_release_date",
]

# Ground truth: which tracks of every service are one recording. Titles and artists live in the
# provider tables (Spotify's spelling is the source), joined on ``rec``.
RECORDING_FIELDS = ["rec", "isrc", "mbid", "duration_ms", "explicit", "genre", "spotify_ids"]


@dataclass(slots=True)
class DerivedCatalogs:
    """Everything the emulator loads; each value is a JSON-ready table ``{"fields": [...], "rows": [...]}``."""

    tables: dict[str, dict[str, Any]]


def table(fields: list[str], rows: Iterable[list[Any]]) -> dict[str, Any]:
    return {"fields": fields, "rows": list(rows)}


def derive_catalogs(tracks: dict[str, SourceTrack], playlists: Sequence[SourcePlaylist]) -> DerivedCatalogs:
    """Select a subset of the real data and derive each service's version of it (deterministic)."""
    chosen = select_playlists(playlists)
    selected = select_tracks(tracks, chosen)
    src = [tracks[t] for t in selected]
    recordings, rec_of = build_recordings(src)
    by_rec = {r.rec: r for r in recordings}

    sp_rows, dz_rows, td_rows, yt_rows = [], [], [], []
    dz_ids: set[int] = set()
    td_ids: set[int] = set()
    yt_ids: set[str] = set()
    dz_albums: dict[str, int] = {}
    td_albums: dict[str, int] = {}
    for t in sorted(src, key=lambda t: t.track_id):
        rec = by_rec[rec_of[t.track_id]]
        sp_rows.append(spotify_row(t, rec))
        if (dz := deezer_row(t, rec, dz_ids, dz_albums)) is not None:
            dz_rows.append(dz)
        if (td := tidal_row(t, rec, td_ids, td_albums)) is not None:
            td_rows.append(td)
        if (yt := youtube_row(t, rec, yt_ids)) is not None:
            yt_rows.append(yt)
    mb_rows = []
    for rec in recordings:
        if (mb := musicbrainz_row(rec, tracks[rec.track_ids[0]])) is not None:
            mb_rows.append(mb)
    rec_rows = [[r.rec, r.isrc, r.mbid, r.duration_ms, r.explicit, r.genre, r.track_ids] for r in recordings]
    pl_rows = [[p.playlist_id, p.name, p.genre, p.subgenre, list(p.track_ids)] for p in chosen]
    return DerivedCatalogs(
        tables={
            "recordings": table(RECORDING_FIELDS, rec_rows),
            "playlists": table(["id", "name", "genre", "subgenre", "tracks"], pl_rows),
            "spotify": table(SPOTIFY_FIELDS, sp_rows),
            "deezer": table(DEEZER_FIELDS, dz_rows),
            "tidal": table(TIDAL_FIELDS, td_rows),
            "youtube": table(YOUTUBE_FIELDS, yt_rows),
            "musicbrainz": table(MUSICBRAINZ_FIELDS, mb_rows),
        }
    )
