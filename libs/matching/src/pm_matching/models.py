"""The matcher's values: what it compares, what it answers, and the thresholds it answers with."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Confidence at or above which a candidate is the same recording: a transfer adds it without asking.
ACCEPT_AT = 0.85
# Confidence at or above which (and below ACCEPT_AT) a person should look: a transfer lists it for review.
# Below it the candidate is rejected.
REVIEW_AT = 0.60


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """A track as a provider lists it; everything but the title and artists may be unknown (None)."""

    title: str
    artists: tuple[str, ...]
    album: str | None = None
    duration_ms: int | None = None
    isrc: str | None = None
    explicit: bool | None = None
    # A music video (YouTube): it may run longer than the recording (an intro, an outro, a skit), so a
    # longer duration costs little. Titles marked "(Official Video)" are read as videos too.
    video: bool = False


class ExplicitPreference(StrEnum):
    """Which edit a transfer wants: the source's (explicit stays explicit, clean stays clean), or always
    the explicit one, or always the clean one where the target has it."""

    SOURCE = "source"
    EXPLICIT = "explicit"
    CLEAN = "clean"


class Verdict(StrEnum):
    ACCEPT = "accept"
    REVIEW = "review"
    REJECT = "reject"


def verdict_of(confidence: float) -> Verdict:
    if confidence >= ACCEPT_AT:
        return Verdict.ACCEPT
    if confidence >= REVIEW_AT:
        return Verdict.REVIEW
    return Verdict.REJECT


@dataclass(frozen=True)
class Score:
    """How alike a candidate is to the source, and why.

    ``breakdown`` holds each signal in 0..1 (``title``, ``artists``, ``duration`` when both durations are
    known, ``album`` when both albums are, ``explicit`` when both flags are: 1 right, 0 wrong, ``version``:
    1 same, 0 a different recording, ``isrc`` when both are known or a hit was reported: 1 equal, 0 not) and
    ``penalty``, the sum subtracted from the weighted signals; JSON-able. ``reasons`` are short sentences a
    person reads ("version differs: live vs studio", "duration off by 14 s", "ISRC equal")."""

    confidence: float
    verdict: Verdict
    breakdown: dict[str, float]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """The matcher's choice among a source track's candidates.

    ``chosen`` is the index of the accepted candidate, or None; ``ranked`` lists every candidate's index and
    score, best first; ``reason`` says why nothing was chosen ("" when something was)."""

    chosen: int | None
    confidence: float
    verdict: Verdict
    ranked: tuple[tuple[int, Score], ...]
    reason: str
