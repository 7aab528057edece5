"""The canonical catalog's decisions (pure): what a confident match does to the catalog (the join rule),
and how provider ids, ISRCs and descriptions (of a match's or a miss's source track) are made fit to store
and to look up (docs/catalog.md)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pm_contracts.transfers import MAX_TEXT, TrackMatched, TrackNotFound, TrackRef

# An ISRC: country (2 letters), registrant (3 letters or digits), year (2 digits), designation (5 digits).
_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
# Longer than any recording (24 hours): a duration beyond it describes nothing, and is not kept.
MAX_DURATION_MS = 24 * 60 * 60 * 1000
# A description keeps at most this many artists, each at most MAX_TEXT characters.
MAX_ARTISTS = 50


class UnstorableTrack(ValueError):
    """A provider track id the catalog cannot hold (a NUL character: PostgreSQL text cannot)."""


@dataclass(frozen=True, order=True)
class TrackKey:
    """One track on one provider, as the catalog stores it."""

    provider: str
    track_id: str

    @property
    def lock_name(self) -> str:
        """The advisory lock that serialises every writer of this id (pm_platform.db.lock_until_commit)."""
        return f"catalog:{self.provider}:{self.track_id}"

    def __str__(self) -> str:
        return f"{self.provider}:{self.track_id}"


def track_key(ref: TrackRef) -> TrackKey:
    """The catalog's key of an event's track; UnstorableTrack for an id PostgreSQL cannot store."""
    if "\x00" in ref.provider_track_id:
        raise UnstorableTrack(f"the {ref.provider.value} track id holds a NUL character")
    return TrackKey(ref.provider.value, ref.provider_track_id)


def lookup_id(provider: str | None, track_id: str | None) -> TrackKey | None:
    """A lookup key's provider id, or None when it names none the catalog could hold."""
    if provider is None or not track_id or "\x00" in track_id:
        return None
    return TrackKey(provider, track_id)


def normalised_isrc(value: str | None) -> str | None:
    """``value`` as the catalog keeps ISRCs (upper case, its letters and digits only, as the matcher
    compares them: "gb-aaa-98-00006" is GBAAA9800006), or None when it is no ISRC: an ISRC that is not
    one is ignored, never stored."""
    if not value:
        return None
    compact = "".join(ch for ch in value.upper() if ch.isalnum())
    return compact if _ISRC.fullmatch(compact) else None


@dataclass(frozen=True)
class Description:
    """What a recording is, as the first match that made it described its source track."""

    title: str
    artists: tuple[str, ...]
    duration_ms: int | None


def _text(value: str) -> str:
    return value.replace("\x00", "")[:MAX_TEXT]


def describe(event: TrackMatched | TrackNotFound) -> Description:
    """The event's description of its source track, fit to store: NUL characters dropped (the
    description is informative; the ids are what must be exact), each artist at most MAX_TEXT
    characters, empty artists left out, a duration beyond a day forgotten."""
    artists = tuple(a for a in (_text(a).strip() for a in event.artists[:MAX_ARTISTS]) if a)
    duration = event.duration_ms
    if duration is not None and not 0 <= duration <= MAX_DURATION_MS:
        duration = None
    return Description(_text(event.title), artists, duration)


# ---- the join rule -------------------------------------------------------------------------------------

JoinKind = Literal["created", "attached", "confirmed", "merged", "refused"]


@dataclass(frozen=True)
class Recording:
    """A recording as the join rule sees it: which providers it holds ids on, and its ISRCs."""

    id: uuid.UUID
    created_at: datetime
    providers: frozenset[str]
    isrcs: frozenset[str]


@dataclass(frozen=True)
class Join:
    """What one match does to the catalog.

    ``recording_id``: the recording both ids are on afterwards (None for ``created``: a new one), or for
    ``refused`` the source id's. ``other_id``: for ``merged`` the recording folded into
    ``recording_id``; for ``refused`` the target id's recording. ``reason``: the decision in words,
    for the join record."""

    kind: JoinKind
    recording_id: uuid.UUID | None
    other_id: uuid.UUID | None
    reason: str


def join_rule(
    source: Recording | None,
    target: Recording | None,
    source_isrc: str | None = None,
    target_isrc: str | None = None,
) -> Join:
    """Decide what a match of a source track to a target track does, given the recording each track is
    on already (None: the track is not in the catalog) and the ISRCs the match reports for each.

    - neither known: a new recording holds both (``created``);
    - one known: the other joins its recording (``attached``; a recording may hold several tracks of one
      provider, so this never conflicts: the match compared these two tracks directly);
    - both on one recording: nothing to do (``confirmed``);
    - both known on two recordings: a merge would claim that every track of one is every track of the
      other, tracks nobody compared. It is made only when nothing contradicts it (``merged``, into the
      older recording): the two hold no ids on a common provider, and their ISRCs (the match's
      included) do not disagree — when both have ISRCs they share one. Otherwise nothing is joined
      (``refused``): a wrong merge would hand every user the wrong tracks as certain, a refused one only
      costs the next transfer a search.
    """
    if source is None and target is None:
        return Join("created", None, None, "neither track was in the catalog")
    if source is None:
        assert target is not None
        return Join("attached", target.id, None, "the target track was in the catalog, the source was not")
    if target is None:
        return Join("attached", source.id, None, "the source track was in the catalog, the target was not")
    if source.id == target.id:
        return Join("confirmed", source.id, None, "both tracks were on the recording already")
    shared = sorted(source.providers & target.providers)
    if shared:
        return Join(
            "refused",
            source.id,
            target.id,
            f"both recordings hold other tracks of {', '.join(shared)}: not merged",
        )
    source_isrcs = source.isrcs | _isrcs(source_isrc)
    target_isrcs = target.isrcs | _isrcs(target_isrc)
    if source_isrcs and target_isrcs and not source_isrcs & target_isrcs:
        return Join("refused", source.id, target.id, "the recordings' ISRCs disagree: not merged")
    survivor, merged = sorted((source, target), key=lambda r: (r.created_at, r.id))
    return Join(
        "merged", survivor.id, merged.id, "the two recordings hold no conflicting ids or ISRCs: merged"
    )


def _isrcs(isrc: str | None) -> frozenset[str]:
    return frozenset((isrc,)) if isrc else frozenset()


def new_tracks(keys: Sequence[TrackKey], known: set[TrackKey]) -> list[TrackKey]:
    """The tracks of a match the catalog does not hold yet, in order, each once (a match of a track to
    itself names it twice)."""
    return [key for key in dict.fromkeys(keys) if key not in known]
