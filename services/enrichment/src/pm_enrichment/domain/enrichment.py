"""A canonical recording's enrichment (pure; docs/enrichment.md): its ISRC, duration, release date and
album, each with who gave it, chosen from what the services said of its tracks (the seen tracks) and what
MusicBrainz said of its ISRC.

The rule, field by field (every choice is made over sorted values, so the input's order never matters,
and every value is one somebody gave, named as its ``source``):

- **isrc**: the ISRC the most services give (then the most tracks, then the smallest). MusicBrainz is
  asked by ISRC, so it never gives one.
- **duration_ms**: among the services' lengths (YouTube's only when no other service gives one: a music
  video's intro and outro make it longer than the recording), the one the most services agree with within
  2 s (then the most tracks; then one given to the millisecond, the most precise reading of that audio;
  then the one given most often; then the shortest). MusicBrainz's length only when no service gives one:
  a service's length is of the very file its users play, MusicBrainz's an average over releases.
- **release_date**: the earliest of the services' release dates and MusicBrainz's first-release-date
  (when it is a whole date). A service dates the release it sells (a 2019 remaster, a compilation), so
  its date is often later than the recording's; MusicBrainz's first-release-date is the earliest release
  of the recording it knows, often one no service carries any more. A partial MusicBrainz date ("1998")
  is not used: the contract's date is a day, and a day nobody gave would be invented. Dates before 1877
  (the phonograph) are placeholders, not dates.
- **album**: the album the most services name (compared case and spacing aside; then the one with the
  earliest release date; then alphabetically), spelled as most of its tracks spell it. MusicBrainz's
  earliest release title only when no service names an album.
- **musicbrainz_id**: the MusicBrainz recording of the ISRC — of several, the one whose length is
  closest to the services' duration; none whose length is more than 10 s off it (an ISRC linked to the
  wrong recording in MusicBrainz).

Ties between services that gave one value are broken by the project's provider order (spotify, deezer,
tidal, youtube): the source is always a service that gave exactly that value.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pm_contracts.enrichment import (
    MAX_TRACKS,
    EnrichedDate,
    EnrichedDuration,
    EnrichedText,
    TrackEnriched,
)
from pm_contracts.providers import ProviderName
from pm_contracts.transfers import MAX_ID, MAX_TEXT, TrackRef
from pm_enrichment.domain.catalog import MAX_DURATION_MS, normalised_isrc
from pm_providers.domain.musicbrainz import MbRecording

T = TypeVar("T")

MUSICBRAINZ = "musicbrainz"
# The order that breaks ties between services that gave one value: the project's provider order.
PROVIDER_ORDER: dict[str, int] = {p.value: i for i, p in enumerate(ProviderName)}
# Lengths this close are one reading of the same audio (pm_matching's decide() uses the same 2 s).
SAME_LENGTH_MS = 2_000
# A MusicBrainz recording whose length is further than this from the services' is not this recording.
MB_LENGTH_TOLERANCE_MS = 10_000
# Release dates before the phonograph are placeholders ("0001-01-01"), never a recording's date.
EARLIEST_RELEASE = date(1877, 1, 1)
# The services that may be a music video, whose length is not the recording's.
VIDEO_PROVIDERS = frozenset({ProviderName.YOUTUBE.value})
_WHOLE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _provider_rank(provider: str) -> tuple[int, str]:
    return (PROVIDER_ORDER.get(provider, len(PROVIDER_ORDER)), provider)


@dataclass(frozen=True)
class TrackFacts:
    """What one service said of one of the recording's tracks (a seen track; None: it did not say)."""

    provider: str
    provider_track_id: str
    isrc: str | None = None
    duration_ms: int | None = None
    release_date: date | None = None
    album: str | None = None


@dataclass(frozen=True)
class MbCandidate:
    """One recording MusicBrainz links to an ISRC, with what the enrichment may take from it.
    ``first_release_date`` and release dates as MusicBrainz gives them ("1998", "1998-04", "1998-04-20")."""

    mbid: uuid.UUID
    length_ms: int | None = None
    first_release_date: str | None = None
    releases: tuple[tuple[str, str | None], ...] = ()  # (title, date)

    @classmethod
    def from_recording(cls, recording: MbRecording) -> MbCandidate | None:
        """The candidate of a MusicBrainz answer's recording; None when its id is no UUID."""
        try:
            mbid = uuid.UUID(recording.mbid)
        except ValueError:
            return None
        return cls(
            mbid=mbid,
            length_ms=recording.length_ms,
            first_release_date=recording.first_release_date,
            releases=tuple((r.title, r.date) for r in recording.releases),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "mbid": str(self.mbid),
            "length_ms": self.length_ms,
            "first_release_date": self.first_release_date,
            "releases": [[title, when] for title, when in self.releases],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MbCandidate:
        return cls(
            mbid=uuid.UUID(data["mbid"]),
            length_ms=data.get("length_ms"),
            first_release_date=data.get("first_release_date"),
            releases=tuple((title, when) for title, when in data.get("releases", [])),
        )


@dataclass(frozen=True)
class MbAnswer:
    """What MusicBrainz answered for ``isrc`` (no candidates: it knows no recording of it)."""

    isrc: str
    candidates: tuple[MbCandidate, ...]


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """A value and who gave it: a service's name, or ``musicbrainz``."""

    value: T
    source: str


@dataclass(frozen=True)
class Enrichment:
    """A recording's enrichment as it stands: each field with its source (None: nobody gave it), its
    MusicBrainz recording, and its provider tracks (in provider order, at most MAX_TRACKS)."""

    isrc: Sourced[str] | None = None
    duration_ms: Sourced[int] | None = None
    release_date: Sourced[date] | None = None
    album: Sourced[str] | None = None
    musicbrainz_id: uuid.UUID | None = None
    tracks: tuple[tuple[str, str], ...] = ()

    @property
    def knows_nothing(self) -> bool:
        """Whether no field is known: nothing worth telling anybody."""
        return (
            self.isrc is None
            and self.duration_ms is None
            and self.release_date is None
            and self.album is None
            and self.musicbrainz_id is None
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON object for storage; :meth:`from_json` reads it back equal."""

        def field(value: Sourced[Any] | None) -> dict[str, Any] | None:
            if value is None:
                return None
            shown = value.value.isoformat() if isinstance(value.value, date) else value.value
            return {"value": shown, "source": value.source}

        return {
            "isrc": field(self.isrc),
            "duration_ms": field(self.duration_ms),
            "release_date": field(self.release_date),
            "album": field(self.album),
            "musicbrainz_id": str(self.musicbrainz_id) if self.musicbrainz_id else None,
            "tracks": [list(track) for track in self.tracks],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Enrichment:
        def field(name: str, read: Any) -> Sourced[Any] | None:
            value = data.get(name)
            return None if value is None else Sourced(read(value["value"]), value["source"])

        mbid = data.get("musicbrainz_id")
        return cls(
            isrc=field("isrc", str),
            duration_ms=field("duration_ms", int),
            release_date=field("release_date", date.fromisoformat),
            album=field("album", str),
            musicbrainz_id=uuid.UUID(mbid) if mbid else None,
            tracks=tuple((provider, track_id) for provider, track_id in data.get("tracks", [])),
        )

    def event(self, recording_id: uuid.UUID, enriched_at: datetime) -> TrackEnriched | None:
        """The ``track.enriched`` event of this enrichment; None when the recording has no track to name."""
        if not self.tracks:
            return None
        return TrackEnriched(
            recording_id=recording_id,
            tracks=[TrackRef(provider=p, provider_track_id=t) for p, t in self.tracks],
            isrc=EnrichedText(value=self.isrc.value, source=self.isrc.source) if self.isrc else None,
            duration_ms=EnrichedDuration(value=self.duration_ms.value, source=self.duration_ms.source)
            if self.duration_ms
            else None,
            release_date=EnrichedDate(value=self.release_date.value, source=self.release_date.source)
            if self.release_date
            else None,
            album=EnrichedText(value=self.album.value, source=self.album.source) if self.album else None,
            musicbrainz_id=self.musicbrainz_id,
            enriched_at=enriched_at,
        )


def worth_telling(previous: Enrichment | None, current: Enrichment) -> bool:
    """Whether ``current`` is news, given the enrichment stored before it (None: never enriched): it
    differs from it (a field, the MusicBrainz id or the tracks). An enrichment that knows nothing is news
    only after one that knew something (which it takes back); a recording without tracks is never told."""
    if not current.tracks:
        return False
    if previous is None or previous.knows_nothing:
        return not current.knows_nothing
    return previous != current


# ---- the rule ----------------------------------------------------------------------------------------


def enrich(
    tracks: Iterable[tuple[str, str]],
    seen: Iterable[TrackFacts],
    musicbrainz: MbAnswer | None = None,
) -> Enrichment:
    """The enrichment of a recording holding ``tracks`` (provider, provider track id), from what the
    services said of them (``seen``; a track nobody described is simply not in it) and MusicBrainz's
    answer, used only when it is the answer for the ISRC chosen here (an answer for an ISRC the
    recording no longer has says nothing about it). Pure, deterministic: the same sets in any order give
    the same enrichment. Never raises on any values; values that cannot be a field's (an ISRC that is
    none, a length beyond a day or of 0, an empty album) are ignored."""
    facts = sorted(
        {_clean(fact) for fact in seen}, key=lambda f: (_provider_rank(f.provider), f.provider_track_id)
    )
    isrc = choose_isrc(facts)
    answer = (
        musicbrainz
        if musicbrainz is not None and isrc is not None and musicbrainz.isrc == isrc.value
        else None
    )
    service_duration = _service_duration(facts)
    candidate = choose_mb_recording(answer.candidates, service_duration) if answer else None
    duration = service_duration
    mb_length = candidate.length_ms if candidate is not None else None
    if duration is None and mb_length is not None and _valid_length(mb_length):
        duration = Sourced(mb_length, MUSICBRAINZ)
    return Enrichment(
        isrc=isrc,
        duration_ms=duration,
        release_date=choose_release_date(facts, candidate),
        album=choose_album(facts, candidate),
        musicbrainz_id=candidate.mbid if candidate else None,
        tracks=_tracks(tracks),
    )


def _clean(fact: TrackFacts) -> TrackFacts:
    album = " ".join(fact.album.split()) if fact.album else None
    return TrackFacts(
        provider=fact.provider,
        provider_track_id=fact.provider_track_id,
        isrc=normalised_isrc(fact.isrc),
        duration_ms=fact.duration_ms if _valid_length(fact.duration_ms) else None,
        release_date=fact.release_date
        if fact.release_date is not None and fact.release_date >= EARLIEST_RELEASE
        else None,
        # As given (only its spacing tidied, as every service shows it); one longer than an event holds
        # is left out rather than cut.
        album=album if album and len(album) <= MAX_TEXT else None,
    )


def _valid_length(value: int | None) -> bool:
    return value is not None and 0 < value <= MAX_DURATION_MS


def _tracks(tracks: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    kept = {(p, t) for p, t in tracks if p in PROVIDER_ORDER and 0 < len(t) <= MAX_ID}
    return tuple(sorted(kept, key=lambda k: (_provider_rank(k[0]), k[1])))[:MAX_TRACKS]


def _first_source(facts: Iterable[TrackFacts]) -> str:
    """The first service in provider order among ``facts``."""
    return min((f.provider for f in facts), key=_provider_rank)


def choose_isrc(facts: Sequence[TrackFacts]) -> Sourced[str] | None:
    """The ISRC the most services give, then the most tracks, then the smallest."""
    by_isrc: dict[str, list[TrackFacts]] = defaultdict(list)
    for fact in facts:
        if fact.isrc:
            by_isrc[fact.isrc].append(fact)
    if not by_isrc:
        return None
    isrc, givers = min(
        by_isrc.items(), key=lambda item: (-len({f.provider for f in item[1]}), -len(item[1]), item[0])
    )
    return Sourced(isrc, _first_source(givers))


def _service_duration(facts: Sequence[TrackFacts]) -> Sourced[int] | None:
    """The services' duration: YouTube's lengths count only when no other service gives one."""
    lengths = [f for f in facts if f.duration_ms is not None and f.provider not in VIDEO_PROVIDERS]
    if not lengths:
        lengths = [f for f in facts if f.duration_ms is not None]
    if not lengths:
        return None

    def rank(value: int) -> tuple[int, int, int, int, int]:
        near = [f for f in lengths if abs((f.duration_ms or 0) - value) <= SAME_LENGTH_MS]
        exact = sum(1 for f in lengths if f.duration_ms == value)
        return (-len({f.provider for f in near}), -len(near), 0 if value % 1000 else 1, -exact, value)

    chosen = min({f.duration_ms for f in lengths if f.duration_ms is not None}, key=rank)
    return Sourced(chosen, _first_source(f for f in lengths if f.duration_ms == chosen))


def choose_mb_recording(
    candidates: Sequence[MbCandidate], duration: Sourced[int] | None
) -> MbCandidate | None:
    """Of MusicBrainz's recordings of an ISRC, the one whose length is closest to the services' duration
    (then the smallest id); none whose length is more than MB_LENGTH_TOLERANCE_MS off it. Without a
    duration to compare, the one with the smallest id among those with a length, else the smallest id."""

    def distance(candidate: MbCandidate) -> float:
        if candidate.length_ms is None:
            return float("inf")
        if duration is None:
            return 0.0
        return float(abs(candidate.length_ms - duration.value))

    fitting = [c for c in candidates if distance(c) <= MB_LENGTH_TOLERANCE_MS or c.length_ms is None]
    if not fitting:
        return None
    return min(fitting, key=lambda c: (distance(c), str(c.mbid)))


def choose_release_date(facts: Sequence[TrackFacts], candidate: MbCandidate | None) -> Sourced[date] | None:
    """The earliest of the services' release dates and MusicBrainz's whole first-release-date; on a tie,
    the service (in provider order) before MusicBrainz."""
    dated: list[tuple[date, int, tuple[int, str], str]] = [
        (f.release_date, 0, _provider_rank(f.provider), f.provider) for f in facts if f.release_date
    ]
    first = _whole_date(candidate.first_release_date) if candidate else None
    if first is not None and first >= EARLIEST_RELEASE:
        dated.append((first, 1, (0, ""), MUSICBRAINZ))
    if not dated:
        return None
    when, _, _, source = min(dated)
    return Sourced(when, source)


def _whole_date(value: str | None) -> date | None:
    if not value or not _WHOLE_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _album_key(album: str) -> str:
    return " ".join(album.casefold().split())


def choose_album(facts: Sequence[TrackFacts], candidate: MbCandidate | None) -> Sourced[str] | None:
    """The album the most services name (case and spacing aside), then the one with the earliest release
    date, then the first alphabetically; spelled as most of its tracks spell it (then the first service's
    spelling). MusicBrainz's earliest-dated release title when no service names one."""
    groups: dict[str, list[TrackFacts]] = defaultdict(list)
    for fact in facts:
        if fact.album:
            groups[_album_key(fact.album)].append(fact)
    if groups:

        def group_rank(item: tuple[str, list[TrackFacts]]) -> tuple[int, date, str]:
            key, members = item
            dates = [f.release_date for f in members if f.release_date]
            return (-len({f.provider for f in members}), min(dates, default=date.max), key)

        _, members = min(groups.items(), key=group_rank)
        spellings: dict[str, list[TrackFacts]] = defaultdict(list)
        for fact in members:
            assert fact.album is not None
            spellings[fact.album].append(fact)
        spelling, givers = min(
            spellings.items(),
            key=lambda item: (-len(item[1]), _provider_rank(_first_source(item[1])), item[0]),
        )
        return Sourced(spelling, _first_source(givers))
    if candidate is None:
        return None
    titled = [
        (when is None, when or "", " ".join(title.split()))
        for title, when in candidate.releases
        if title.strip() and len(" ".join(title.split())) <= MAX_TEXT
    ]
    if not titled:
        return None
    return Sourced(min(titled)[2], MUSICBRAINZ)
