"""Transfers, the pure part: what a transfer request says, the source tracks and the keys a user's own
choices are kept under, what a match decision becomes per track, how a long playlist is split into
numbered parts, how much of a part a target already holds (the check that makes writes exactly-once),
and the not-found report.

Per track the status is one of:

- ``matched``: a target track, by the user's own mapping, the shared catalog, an ISRC lookup checked by
  the matcher, or a search scored by it (the method, confidence and score breakdown say which and why);
- ``review``: the best candidate is close but not sure (pm_matching's review band): not written unless
  the user picks it (``POST /api/v1/transfers/{id}/apply``);
- ``not_matched``: nothing acceptable (the reason and the best candidates are kept), or the shared
  catalog knows that nobody's search found the track on the target lately (method ``catalog``);
- ``unavailable``: the target has the track but not for this user (country, licence);
- ``skipped``: the user chose to leave it out, or it cannot be transferred (no title at all).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, Strict, model_validator

from pm_contracts.providers import PROVIDERS, ProviderName
from pm_matching import REVIEW_AT, Decision, ExplicitPreference, Score, TrackInfo, normalise
from pm_platform.api import LenientProvider, RequestBody
from pm_provider_sync.domain.pauses import PROVIDER_TITLES
from pm_providers.models import ProviderTrack

TRANSFER_JOB = "transfer.run"
# Source playlists one transfer takes at most, and choices one apply carries.
MAX_SOURCE_PLAYLISTS = 500
MAX_CHOICES = 10_000
MAX_NAME = 200
MAX_ID = 200
# Candidates kept per track for the report and for the user's choice.
KEPT_CANDIDATES = 5
# The target playlist's description names the job's part, so a job stopped between creating it and
# recording its id finds it again instead of creating a second one.
MARKER_PREFIX = "Playlist Manager transfer"


# JSON has no UUID or enum type: these come as strings (the request bodies are strict otherwise).
LenientUuid = Annotated[uuid.UUID, Strict(False)]
LenientPreference = Annotated[ExplicitPreference, Strict(False)]


class Status(StrEnum):
    PENDING = "pending"
    MATCHED = "matched"
    REVIEW = "review"
    NOT_MATCHED = "not_matched"
    UNAVAILABLE = "unavailable"
    SKIPPED = "skipped"


# ---- the request ---------------------------------------------------------------------------------------


class SourceSpec(RequestBody):
    """What to transfer: library playlists by id, or a provider's playlists in the library (``provider``
    with ``collections``: ``all``, ``playlists`` (without the liked songs) or ``liked``)."""

    playlists: list[LenientUuid] | None = Field(default=None, min_length=1, max_length=MAX_SOURCE_PLAYLISTS)
    provider: LenientProvider | None = None
    collections: Literal["all", "playlists", "liked"] = "all"

    @model_validator(mode="after")
    def _one_kind(self) -> SourceSpec:
        if (self.playlists is None) == (self.provider is None):
            raise ValueError("name either playlists (library ids) or a provider")
        if self.playlists is not None and len(set(self.playlists)) != len(self.playlists):
            raise ValueError("a playlist is named twice")
        return self


class TargetSpec(RequestBody):
    """Where to: a provider, and whether the transfer creates playlists (named like the source, or
    ``name`` for a single source), appends to ``playlist_id`` or replaces its contents."""

    provider: LenientProvider
    mode: Literal["create", "append", "replace"] = "create"
    playlist_id: str | None = Field(default=None, min_length=1, max_length=MAX_ID, pattern=r"^[^\x00-\x1f]+$")
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)

    @model_validator(mode="after")
    def _mode_needs(self) -> TargetSpec:
        if self.mode == "create" and self.playlist_id is not None:
            raise ValueError("mode create makes new playlists: leave out playlist_id")
        if self.mode != "create" and self.playlist_id is None:
            raise ValueError(f"mode {self.mode} needs the target playlist_id")
        return self


class TransferRequest(RequestBody):
    source: SourceSpec
    target: TargetSpec
    dry_run: bool = False
    explicit: LenientPreference = ExplicitPreference.SOURCE

    @model_validator(mode="after")
    def _one_target_playlist(self) -> TransferRequest:
        several = self.source.provider is not None or len(self.source.playlists or ()) > 1
        if several and (self.target.playlist_id is not None or self.target.name is not None):
            raise ValueError("a target playlist_id or name is for one source playlist only")
        return self


class Choice(RequestBody):
    """The user's pick for one track of a dry run: a target track id, or ``skip``."""

    playlist: int = Field(ge=0, le=MAX_SOURCE_PLAYLISTS)
    position: int = Field(ge=0, le=10_000_000)
    target_id: str | None = Field(default=None, min_length=1, max_length=MAX_ID, pattern=r"^[^\x00-\x1f]+$")
    skip: bool = False

    @model_validator(mode="after")
    def _one(self) -> Choice:
        if (self.target_id is None) == (not self.skip):
            raise ValueError("give either target_id or skip: true")
        return self


class ApplyRequest(RequestBody):
    choices: list[Choice] = Field(default_factory=list, max_length=MAX_CHOICES)


# ---- source tracks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceTrack:
    """A track of a source playlist, as the library's API describes it."""

    title: str
    artists: tuple[str, ...] = ()
    album: str | None = None
    duration_ms: int | None = None
    isrc: str | None = None
    explicit: bool | None = None
    provider_ids: dict[str, str] = field(default_factory=dict)
    # The library's kind of item (``track``, ``episode``, ``video``, ``unknown``; None from a row stored
    # before it was kept) and whether it is a local file.
    media_type: str | None = None
    is_local: bool = False

    @classmethod
    def from_api(cls, track: dict[str, Any]) -> SourceTrack:
        ids = track.get("provider_ids") or {}
        media_type = track.get("media_type")
        return cls(
            title=str(track.get("title") or ""),
            artists=tuple(str(a) for a in track.get("artists") or ()),
            album=track.get("album"),
            duration_ms=track.get("duration_ms"),
            isrc=track.get("isrc"),
            explicit=track.get("explicit"),
            provider_ids={str(k): str(v) for k, v in ids.items() if v},
            media_type=str(media_type) if media_type is not None else None,
            is_local=track.get("is_local") is True,
        )

    @classmethod
    def from_provider(cls, track: ProviderTrack) -> SourceTrack:
        """A provider's track as read from a playlist (a sync run's end)."""
        return cls(
            title=track.title,
            artists=track.artists,
            album=track.album,
            duration_ms=track.duration_ms,
            isrc=track.isrc,
            explicit=track.explicit,
            provider_ids={track.provider.value: track.id} if track.id else {},
            media_type=track.media_type.value,
            is_local=track.is_local,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "artists": list(self.artists),
            "album": self.album,
            "duration_ms": self.duration_ms,
            "isrc": self.isrc,
            "explicit": self.explicit,
            "provider_ids": self.provider_ids,
            "media_type": self.media_type,
            "is_local": self.is_local,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceTrack:
        return cls.from_api(data)

    def info(self) -> TrackInfo:
        return TrackInfo(
            title=self.title,
            artists=self.artists,
            album=self.album,
            duration_ms=self.duration_ms,
            isrc=self.isrc,
            explicit=self.explicit,
        )

    def ref(self) -> tuple[ProviderName, str] | None:
        """The provider id the shared catalog knows this track by (the first provider in the fixed order)."""
        for provider in PROVIDERS:
            if provider.value in self.provider_ids:
                return provider, self.provider_ids[provider.value]
        return None

    def id_on(self, provider: ProviderName) -> str | None:
        return self.provider_ids.get(provider.value)


def source_key(track: SourceTrack) -> str:
    """The key a user's own choice for this track is kept under: its provider id, else its ISRC, else a
    digest of its normalised artists and title (a track imported from a file)."""
    ref = track.ref()
    if ref is not None:
        return f"{ref[0].value}:{ref[1]}"
    if track.isrc:
        return f"isrc:{track.isrc.upper()}"
    text = normalise(" ".join(track.artists)) + "\x1f" + normalise(track.title)
    return "text:" + hashlib.sha256(text.encode()).hexdigest()[:32]


def transferable(track: SourceTrack) -> bool:
    """A track with no title and no artist cannot be searched for (a broken or local entry)."""
    return bool(track.title.strip() or track.artists)


# ---- per-track results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackResult:
    status: Status
    target_id: str | None = None
    method: str | None = None
    confidence: float | None = None
    breakdown: dict[str, Any] | None = None
    reason: str | None = None
    candidates: list[dict[str, Any]] | None = None


def candidate_info(track: ProviderTrack) -> TrackInfo:
    """What the matcher compares of a target's track (a search hit or an ISRC hit)."""
    return TrackInfo(
        title=track.title,
        artists=tuple(track.artists),
        album=track.album,
        duration_ms=track.duration_ms,
        isrc=track.isrc,
        explicit=track.explicit,
    )


def candidate_view(track: ProviderTrack, score: Score | None) -> dict[str, Any]:
    return {
        "id": track.id,
        "title": track.title,
        "artists": list(track.artists),
        "album": track.album,
        "duration_ms": track.duration_ms,
        "isrc": track.isrc,
        "explicit": track.explicit,
        "available": track.available,
        "confidence": round(score.confidence, 4) if score is not None else None,
        "verdict": score.verdict.value if score is not None else None,
        "reasons": list(score.reasons) if score is not None else [],
    }


def _breakdown(score: Score) -> dict[str, Any]:
    return {**{k: round(v, 4) for k, v in score.breakdown.items()}, "reasons": list(score.reasons)}


def decided(decision: Decision, candidates: Sequence[ProviderTrack], method: str) -> TrackResult:
    """What the matcher's decision over ``candidates`` (found by ``method``) makes of a track."""
    kept = [candidate_view(candidates[i], s) for i, s in decision.ranked[:KEPT_CANDIDATES]]
    if decision.chosen is not None:
        chosen = candidates[decision.chosen]
        score = next(s for i, s in decision.ranked if i == decision.chosen)
        if chosen.available is False:
            return TrackResult(
                Status.UNAVAILABLE,
                confidence=decision.confidence,
                method=method,
                breakdown=_breakdown(score),
                reason="the target has this track but does not make it available to this account",
                candidates=kept,
            )
        return TrackResult(
            Status.MATCHED,
            target_id=chosen.id,
            method=method,
            confidence=decision.confidence,
            breakdown=_breakdown(score),
        )
    best = decision.ranked[0][1] if decision.ranked else None
    status = Status.REVIEW if best is not None and best.verdict.value == "review" else Status.NOT_MATCHED
    return TrackResult(
        status,
        method=method if decision.ranked else None,
        confidence=decision.confidence if decision.ranked else None,
        breakdown=_breakdown(best) if best is not None else None,
        reason=decision.reason or "no candidate",
        candidates=kept,
    )


# ---- the shared catalog's misses -------------------------------------------------------------------------

# Library items that are no recording of music: what a search did not find of them teaches nobody anything.
NOT_RECORDINGS = frozenset({"episode", "unknown"})


def shareable_miss(track: SourceTrack, decision: Decision, preference: ExplicitPreference) -> bool:
    """Whether the target's answers for ``track`` say it is not there, for anyone: the shared catalog may
    remember the miss (``track.not_found``) and spare later transfers the lookup and the search.

    ``decision`` is the matcher's over everything the target answered for the track: the candidates of
    its ISRC lookup (when it has an ISRC and the target has a lookup) together with those of its search.
    A miss is shareable only when it is definitive and nobody's own: nothing chosen and no candidate a
    user could pick (every one scored below REVIEW_AT; a review-range one is a question for the user,
    an accepted but unavailable one is there for other accounts); the source's own version wanted (a
    version chosen for one user's taste says nothing of the recording); and a track the catalog can key
    by a provider id that is a recording (no local file, no podcast episode). A refused or failed search
    has no decision, so it never gets here."""
    if decision.chosen is not None or any(s.confidence >= REVIEW_AT for _, s in decision.ranked):
        return False
    if preference is not ExplicitPreference.SOURCE:
        return False
    if track.is_local or track.media_type in NOT_RECORDINGS:
        return False
    return track.ref() is not None


def known_absent(target: ProviderName, searched_at: datetime) -> TrackResult:
    """A track the shared catalog knows nobody's search found on ``target`` (since ``searched_at``): not
    matched, without an ISRC lookup or a search; the user may still map it by hand."""
    return TrackResult(
        Status.NOT_MATCHED,
        method="catalog",
        reason=f"not on {PROVIDER_TITLES[target]}: nobody's search found it (checked {searched_at:%Y-%m-%d}); "
        "pick a track by hand to map it",
    )


# ---- target playlists ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedPart:
    part: int
    name: str
    track_ids: list[str]


def plan_parts(
    name: str, track_ids: Sequence[str], max_size: int | None, max_name: int | None
) -> list[PlannedPart]:
    """The target playlists for one source: one, or numbered parts ("Name (1/3)") of at most
    ``max_size`` tracks when the target allows fewer than the source has."""
    ids = list(track_ids)
    if max_size is None or len(ids) <= max_size:
        return [PlannedPart(1, _fit(name, max_name), ids)]
    count = math.ceil(len(ids) / max_size)
    return [
        PlannedPart(
            n + 1, _fit(name, max_name, f" ({n + 1}/{count})"), ids[n * max_size : (n + 1) * max_size]
        )
        for n in range(count)
    ]


def _fit(name: str, max_name: int | None, suffix: str = "") -> str:
    name = name.strip() or "Transferred playlist"
    if max_name is not None and len(name) + len(suffix) > max_name:
        name = name[: max(1, max_name - len(suffix))].rstrip()
    return name + suffix


def marker(job_id: uuid.UUID, playlist_index: int, part: int) -> str:
    """The reference a created target playlist's description carries (found again after a crash)."""
    return f"{MARKER_PREFIX} {job_id.hex[:16]}-{playlist_index}-{part}"


def already_written(existing: Sequence[str | None], base_count: int, track_ids: Sequence[str]) -> int | None:
    """How many of ``track_ids`` the target already holds, in order, right after its first
    ``base_count`` entries: the part resumes from there. None when the target holds something else
    there (changed by someone else meanwhile, or a batch written twice): the part is then rewritten."""
    after = list(existing[base_count:])
    if len(existing) < base_count or len(after) > len(track_ids):
        return None
    if after != list(track_ids[: len(after)]):
        return None
    return len(after)


def youtube_days(
    writes: int, searches: int, units_per_day: int, searches_per_day: int, write_units: int
) -> int:
    """Days a transfer to YouTube needs under its daily quota: each insert costs ``write_units`` of the
    day's ``units_per_day``, each search one of ``searches_per_day``."""
    days = 0
    if writes:
        days = math.ceil(writes * write_units / max(units_per_day, 1))
    if searches:
        days = max(days, math.ceil(searches / max(searches_per_day, 1)))
    return max(days, 1) if writes or searches else 0


# ---- report --------------------------------------------------------------------------------------------

REPORT_COLUMNS = (
    "playlist",
    "position",
    "status",
    "title",
    "artists",
    "album",
    "duration_ms",
    "isrc",
    "reason",
    "best_candidate_id",
    "best_candidate",
    "best_confidence",
)


def report_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The not-found report as CSV (one line per track not written; spreadsheet formulas defused)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    for row in rows:
        source = row["source"]
        best = (row.get("candidates") or [None])[0]
        writer.writerow(
            [
                _cell(row["playlist_name"]),
                row["position"],
                row["status"],
                _cell(source.get("title")),
                _cell("; ".join(source.get("artists") or ())),
                _cell(source.get("album")),
                source.get("duration_ms") if source.get("duration_ms") is not None else "",
                _cell(source.get("isrc")),
                _cell(row.get("reason")),
                _cell(best["id"]) if best else "",
                _cell(f"{'; '.join(best['artists'])} - {best['title']}") if best else "",
                best["confidence"] if best and best.get("confidence") is not None else "",
            ]
        )
    return out.getvalue()


def _cell(value: Any) -> str:
    """A text cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def progress(stage: Literal["reading", "matching", "writing"], done: int, total: int) -> float:
    """Reading is the first 5 %, matching up to 70 %, writing the rest."""
    share = done / total if total else 1.0
    if stage == "reading":
        return 0.05 * share
    if stage == "matching":
        return 0.05 + 0.65 * share
    return 0.70 + 0.29 * share
