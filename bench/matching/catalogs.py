"""The matcher on the provider emulator's catalogs, where the truth is known.

The emulator ships its catalogs in the repository (services/provider-emulator/data/catalog/*.json.xz,
derived from real Spotify playlists by ``domain/derive.py``: Deezer, TIDAL and YouTube spell titles,
artists and durations the way those services do, and lack some tracks). They are loaded in-process as the
emulator loads them at start-up (``storage.catalog_files.load_catalogs``, about 4 s); no shared data is
needed.

For each sampled Spotify track: the query a transfer sends (``search_terms``, built into each provider's
query as its adapter in libs/providers builds it) goes through the emulator's own search on the target
catalog; the first ``search_limit`` results become candidates as the adapter would parse them from a
search listing (Deezer's listing has no contributors and no ISRC; YouTube's has the channel as artist and
is a video); the matcher decides; the decision is checked against the recordings table (a recording can
have several Spotify ids and several target ids: any target id of the same recording is right).
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pm_matching import Decision, TrackInfo, Verdict, decide, search_terms
from pm_provider_emulator.domain.catalog import Catalogs, DeezerTrack, SpotifyTrack, TidalTrack, YoutubeVideo
from pm_provider_emulator.domain.search import parse_field_query
from pm_provider_emulator.storage.catalog_files import load_catalogs
from pm_providers.adapters.common import fielded_query

TARGETS = ("deezer", "tidal", "youtube")
SEED = "pm-matching-bench-v1"


def sample(catalogs: Catalogs, n: int) -> list[SpotifyTrack]:
    """``n`` Spotify tracks, the same every run (ordered by a seeded hash of the id)."""
    ids = sorted(catalogs.spotify, key=lambda i: hashlib.sha256(f"{SEED}:{i}".encode()).digest())
    return [catalogs.spotify[i] for i in ids[:n]]


def source_info(t: SpotifyTrack) -> TrackInfo:
    return TrackInfo(
        title=t.name,
        artists=t.artists,
        album=t.album_name,
        duration_ms=t.duration_ms,
        isrc=t.isrc,
        explicit=t.explicit,
    )


def deezer_info(t: DeezerTrack) -> TrackInfo:
    # A search listing: the main artist only, no ISRC (pm_providers.adapters.deezer.parse_track).
    return TrackInfo(
        title=t.title,
        artists=t.artists[:1],
        album=t.album_title,
        duration_ms=t.duration * 1000,
        explicit=t.explicit,
    )


def tidal_info(t: TidalTrack) -> TrackInfo:
    title = t.title if not t.version or t.version.lower() in t.title.lower() else f"{t.title} ({t.version})"
    return TrackInfo(
        title=title,
        artists=t.artists,
        album=t.album_title,
        duration_ms=t.duration * 1000,
        isrc=t.isrc,
        explicit=t.explicit,
    )


def youtube_info(v: YoutubeVideo) -> TrackInfo:
    # An upload of an auto-generated "<Artist> - Topic" channel is the recording itself (an Art Track);
    # anything else may be a music video (pm_providers gives every search result media_type VIDEO).
    topic = v.channel_title.endswith(" - Topic")
    return TrackInfo(
        title=v.title,
        artists=(v.channel_title.removesuffix(" - Topic").strip(),),
        duration_ms=v.duration * 1000,
        video=not topic,
    )


@dataclass
class Target:
    """How one provider is searched and read: its query syntax, its index, its listing."""

    search: Callable[[str, str], list[str]]  # (title, artist) → ids, best first
    info: Callable[[str], TrackInfo]
    rec: Callable[[str], int]
    ids_of_rec: dict[int, list[str]]


def target(catalogs: Catalogs, name: str) -> Target:
    if name == "deezer":
        index = catalogs.deezer_index

        def deezer_search(title: str, artist: str) -> list[str]:
            query = fielded_query(None, ("artist", artist), ("track", title))
            ids: list[str] = index.search(parse_field_query(query))
            return ids

        recs: dict[int, list[str]] = {}
        for d in catalogs.deezer.values():
            recs.setdefault(d.rec, []).append(str(d.id))
        return Target(
            deezer_search,
            lambda i: deezer_info(catalogs.deezer[int(i)]),
            lambda i: catalogs.deezer[int(i)].rec,
            recs,
        )
    if name == "tidal":
        tindex = catalogs.tidal_index
        recs = {}
        for td in catalogs.tidal.values():
            recs.setdefault(td.rec, []).append(td.id)
        return Target(
            lambda title, artist: tindex.search(parse_field_query(f"{artist} {title}".strip())),
            lambda i: tidal_info(catalogs.tidal[i]),
            lambda i: catalogs.tidal[i].rec,
            recs,
        )
    if name == "youtube":
        yindex = catalogs.youtube_index
        recs = {}
        for v in catalogs.youtube.values():
            recs.setdefault(v.rec, []).append(v.id)
        return Target(
            lambda title, artist: yindex.search(parse_field_query(f"{artist} {title}".strip())),
            lambda i: youtube_info(catalogs.youtube[i]),
            lambda i: catalogs.youtube[i].rec,
            recs,
        )
    raise ValueError(f"unknown target {name!r}: one of {', '.join(TARGETS)}")


@dataclass
class CatalogResult:
    target: str
    tracks: int = 0
    on_target: int = 0  # sampled tracks whose recording the target has
    chosen: int = 0
    correct: int = 0
    wrong: int = 0  # chosen, but another recording
    chosen_absent: int = 0  # chosen although the target lacks the recording (among ``wrong``)
    review: int = 0
    review_right: int = 0  # the best candidate in review was the right recording
    not_found: int = 0  # on the target, but not among the search results: a search limit, not the matcher
    scored: int = 0  # score() calls
    seconds: float = 0.0  # in decide()
    per_score_us: list[float] = field(default_factory=list)  # each track's decide() time per candidate
    wrong_found: int = 0  # chosen wrong although the right recording was among the results
    errors: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.correct / self.chosen if self.chosen else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.on_target if self.on_target else None

    @property
    def median_us(self) -> float:
        """Median over tracks of decide() µs per candidate (a median: the machine's other work skews means)."""
        return statistics.median(self.per_score_us) if self.per_score_us else 0.0

    @property
    def recall_found(self) -> float | None:
        """Recall over the tracks whose right recording was among the search results."""
        found = self.on_target - self.not_found
        return self.correct / found if found else None


def _describe(t: TrackInfo) -> str:
    seconds = f" {t.duration_ms // 1000} s" if t.duration_ms else ""
    flag = "" if t.explicit is None else (" [E]" if t.explicit else " [C]")
    return f"{t.title!r} by {', '.join(t.artists)}{seconds}{flag} ({t.album or '-'})"


def evaluate(
    catalogs: Catalogs, name: str, limit: int, *, search_limit: int = 10, keep_errors: int = 20
) -> CatalogResult:
    tgt = target(catalogs, name)
    result = CatalogResult(target=name)
    for track in sample(catalogs, limit):
        source = source_info(track)
        terms = search_terms(source)
        ids = tgt.search(terms.title, terms.artist)[:search_limit]
        candidates = [tgt.info(i) for i in ids]
        started = time.perf_counter()
        decision: Decision = decide(source, candidates)
        elapsed = time.perf_counter() - started
        result.seconds += elapsed
        result.scored += len(candidates)
        if candidates:
            result.per_score_us.append(elapsed / len(candidates) * 1e6)
        result.tracks += 1
        right = set(tgt.ids_of_rec.get(track.rec, ()))
        if right:
            result.on_target += 1
            if not right & set(ids):
                result.not_found += 1
        if decision.chosen is not None:
            result.chosen += 1
            if ids[decision.chosen] in right:
                result.correct += 1
            else:
                result.wrong += 1
                result.chosen_absent += int(not right)
                result.wrong_found += int(bool(right & set(ids)))
                _keep(result, keep_errors, "WRONG", source, terms, candidates, decision)
        else:
            if decision.verdict is Verdict.REVIEW:
                result.review += 1
                result.review_right += int(ids[decision.ranked[0][0]] in right)
            if right & set(ids):
                _keep(result, keep_errors, "MISSED", source, terms, candidates, decision)
    return result


def _keep(
    result: CatalogResult,
    keep: int,
    what: str,
    source: TrackInfo,
    terms: Any,
    candidates: list[TrackInfo],
    decision: Decision,
) -> None:
    if len(result.errors) >= keep:
        return
    lines = [f"{what}: {_describe(source)}  query: {terms.artist!r} / {terms.title!r}  ({decision.reason})"]
    for index, s in decision.ranked[:3]:
        lines.append(
            f"    {s.confidence:.3f} {s.verdict.value:6} {_describe(candidates[index])}: {'; '.join(s.reasons)}"
        )
    result.errors.append("\n".join(lines))


def load() -> Catalogs:
    return load_catalogs()
