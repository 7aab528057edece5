"""The derived catalogs as typed values, with the look-ups the emulated APIs need.

Built from the tables written by ``tools/build_catalogs.py`` (see ``domain/derive.py`` for the
column lists). Immutable after construction: user state lives in ``storage/``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pm_provider_emulator.domain import derive
from pm_provider_emulator.domain.search import SearchDoc, SearchIndex


def _rows(table: dict[str, Any], expected: list[str]) -> list[dict[str, Any]]:
    fields = table["fields"]
    if fields != expected:
        raise ValueError(f"catalog columns {fields} differ from {expected}; rebuild the catalogs")
    return [dict(zip(fields, row, strict=True)) for row in table["rows"]]


def _year(date: str) -> int | None:
    return int(date[:4]) if date[:4].isdigit() else None


@dataclass(frozen=True, slots=True)
class Recording:
    rec: int
    isrc: str
    mbid: str
    duration_ms: int
    explicit: bool
    genre: str
    spotify_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SpotifyTrack:
    id: str
    rec: int
    name: str
    artists: tuple[str, ...]
    album_id: str
    album_name: str
    album_type: str
    release_date: str
    duration_ms: int
    explicit: bool
    isrc: str | None
    playable: bool
    popularity: int
    track_number: int


@dataclass(frozen=True, slots=True)
class DeezerTrack:
    id: int
    rec: int
    src: str
    title: str
    title_short: str
    title_version: str
    artists: tuple[str, ...]
    album_id: int
    album_title: str
    release_date: str
    duration: int
    explicit: bool
    isrc: str
    readable: bool
    rank: int


@dataclass(frozen=True, slots=True)
class TidalTrack:
    id: str
    rec: int
    src: str
    title: str
    version: str | None
    artists: tuple[str, ...]
    album_id: str
    album_title: str
    release_date: str
    duration: int
    explicit: bool
    isrc: str | None
    available: bool
    popularity: float


@dataclass(frozen=True, slots=True)
class YoutubeVideo:
    id: str
    rec: int
    src: str
    title: str
    channel_title: str
    channel_id: str
    duration: int
    published_at: str
    available: bool


@dataclass(frozen=True, slots=True)
class MbRecording:
    id: str
    rec: int
    isrcs: tuple[str, ...]
    title: str
    artist_credit: tuple[tuple[str, str], ...]
    length: int | None
    release_title: str
    release_id: str
    first_release_date: str


@dataclass(frozen=True, slots=True)
class RealPlaylist:
    id: str
    name: str
    genre: str
    subgenre: str
    tracks: tuple[str, ...]


class Catalogs:
    """All providers' catalogs, their indexes, and the cross-service ground truth."""

    def __init__(self, tables: dict[str, dict[str, Any]]) -> None:
        self.recordings = {
            r["rec"]: Recording(
                rec=r["rec"],
                isrc=r["isrc"],
                mbid=r["mbid"],
                duration_ms=r["duration_ms"],
                explicit=r["explicit"],
                genre=r["genre"],
                spotify_ids=tuple(r["spotify_ids"]),
            )
            for r in _rows(tables["recordings"], derive.RECORDING_FIELDS)
        }
        self.playlists = [
            RealPlaylist(r["id"], r["name"], r["genre"], r["subgenre"], tuple(r["tracks"]))
            for r in _rows(tables["playlists"], ["id", "name", "genre", "subgenre", "tracks"])
        ]
        self.spotify: dict[str, SpotifyTrack] = {
            r["id"]: SpotifyTrack(**{**r, "artists": tuple(r["artists"])})
            for r in _rows(tables["spotify"], derive.SPOTIFY_FIELDS)
        }
        self.deezer: dict[int, DeezerTrack] = {
            r["id"]: DeezerTrack(**{**r, "artists": tuple(r["artists"])})
            for r in _rows(tables["deezer"], derive.DEEZER_FIELDS)
        }
        self.tidal: dict[str, TidalTrack] = {
            r["id"]: TidalTrack(**{**r, "artists": tuple(r["artists"])})
            for r in _rows(tables["tidal"], derive.TIDAL_FIELDS)
        }
        self.youtube: dict[str, YoutubeVideo] = {
            r["id"]: YoutubeVideo(**r) for r in _rows(tables["youtube"], derive.YOUTUBE_FIELDS)
        }
        self.musicbrainz: dict[str, MbRecording] = {
            r["id"]: MbRecording(
                **{
                    **r,
                    "isrcs": tuple(r["isrcs"]),
                    "artist_credit": tuple((n, j) for n, j in r["artist_credit"]),
                }
            )
            for r in _rows(tables["musicbrainz"], derive.MUSICBRAINZ_FIELDS)
        }
        # source Spotify id -> the other services' versions (ground truth for transfers)
        self.deezer_by_src = {t.src: t for t in self.deezer.values()}
        self.tidal_by_src = {t.src: t for t in self.tidal.values()}
        self.youtube_by_src = {t.src: t for t in self.youtube.values()}
        self.mb_by_isrc: dict[str, list[MbRecording]] = defaultdict(list)
        for m in self.musicbrainz.values():
            for isrc in m.isrcs:
                self.mb_by_isrc[isrc].append(m)
        self.deezer_albums: dict[int, list[DeezerTrack]] = defaultdict(list)
        for d in self.deezer.values():
            self.deezer_albums[d.album_id].append(d)
        self.spotify_index = SearchIndex(
            SearchDoc(
                t.id,
                t.name,
                " ".join(t.artists),
                t.album_name,
                t.isrc,
                _year(t.release_date),
                t.popularity,
                t.duration_ms // 1000,
            )
            for t in self.spotify.values()
        )
        self.deezer_index = SearchIndex(
            SearchDoc(
                str(t.id),
                t.title,
                " ".join(t.artists),
                t.album_title,
                t.isrc or None,
                _year(t.release_date),
                t.rank,
                t.duration,
            )
            for t in self.deezer.values()
        )
        self.tidal_index = SearchIndex(
            SearchDoc(
                t.id,
                f"{t.title} {t.version or ''}",
                " ".join(t.artists),
                t.album_title,
                t.isrc,
                _year(t.release_date),
                t.popularity,
                t.duration,
            )
            for t in self.tidal.values()
        )
        self.youtube_index = SearchIndex(
            SearchDoc(t.id, t.title, t.channel_title, "", None, _year(t.published_at), 0, t.duration)
            for t in self.youtube.values()
        )
        self.musicbrainz_index = SearchIndex(
            SearchDoc(
                m.id,
                m.title,
                " ".join(n for n, _ in m.artist_credit),
                m.release_title,
                m.isrcs[0] if m.isrcs else None,
                _year(m.first_release_date),
                0,
                (m.length or 0) // 1000,
            )
            for m in self.musicbrainz.values()
        )

    def spotify_ids_for_size(self, n: int) -> list[str]:
        """``n`` Spotify ids, distinct while the catalog lasts (for large-playlist tests)."""
        ids = sorted(self.spotify)
        return [ids[i % len(ids)] for i in range(n)]
