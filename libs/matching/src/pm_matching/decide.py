"""Choosing among a source track's candidates (a provider's search results, its ISRC hits)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from pm_matching.models import Decision, ExplicitPreference, Score, TrackInfo, Verdict
from pm_matching.scoring import duration_off, exactness, score, titles_of, version_label
from pm_matching.titles import DIFFERENT_RECORDING, album_tags

# Accepted candidates this close to the best are the same song as far as the scores tell (an album track
# and its single, one second apart): the tie is broken by the explicit preference, then the closest
# duration (within SAME_DURATION_S counts as the same; a video's leeway taken off), then the recording
# before a music video, then how literally each agrees with the source (scoring.exactness: ISRC, title as
# written, artist set, album), then the score, then the provider's order.
TIE = 0.01
SAME_DURATION_S = 2.0


def _flag_rank(source: TrackInfo, candidate: TrackInfo, preference: ExplicitPreference) -> int:
    """0: the flag wanted; 1: unknown; 2: the other one."""
    s, c = titles_of(source, candidate)
    flag = candidate.explicit if candidate.explicit is not None else c.explicit
    if preference is ExplicitPreference.SOURCE:
        wanted = source.explicit if source.explicit is not None else s.explicit
    else:
        wanted = preference is ExplicitPreference.EXPLICIT
    if flag is None or wanted is None:
        return 1
    return 0 if flag == wanted else 2


def _duration_rank(source: TrackInfo, candidate: TrackInfo) -> tuple[float, bool, float]:
    """Seconds apart as the score counts them (a video's leeway taken off), then whether it is a video
    (among equally fitting candidates the recording goes before a music video), then seconds apart as they
    are; differences within SAME_DURATION_S count as none."""
    off, video = duration_off(source, candidate)
    if off is None or not source.duration_ms or not candidate.duration_ms:
        return float("inf"), video, float("inf")
    gap = abs(source.duration_ms - candidate.duration_ms) / 1000.0
    return _bucket(off), video, _bucket(gap)


def _bucket(seconds: float) -> float:
    return 0.0 if seconds <= SAME_DURATION_S else seconds


def decide(
    source: TrackInfo,
    candidates: Sequence[TrackInfo],
    *,
    preference: ExplicitPreference = ExplicitPreference.SOURCE,
    isrc_hits: Collection[int] = (),
) -> Decision:
    """Score every candidate and choose the accepted one, if any.

    ``isrc_hits``: indexes of the candidates found by the source's ISRC. The best candidate is chosen only
    when its verdict is ACCEPT; accepted candidates within ``TIE`` of it are ranked by the explicit
    preference, then the closest duration, then their order. A best candidate in REVIEW is not chosen
    ("needs review: ..."). Pure; costs one :func:`score` per candidate."""
    if not candidates:
        return Decision(
            chosen=None, confidence=0.0, verdict=Verdict.REJECT, ranked=(), reason="no candidates"
        )
    hits = set(isrc_hits)
    scored = [
        (i, score(source, c, preference=preference, isrc_hit=i in hits)) for i, c in enumerate(candidates)
    ]
    scored.sort(key=lambda item: (-item[1].confidence, item[0]))
    best = scored[0][1]
    if best.verdict is Verdict.ACCEPT:
        tied = [
            item
            for item in scored
            if item[1].verdict is Verdict.ACCEPT and best.confidence - item[1].confidence <= TIE
        ]
        tied.sort(
            key=lambda item: (
                _flag_rank(source, candidates[item[0]], preference),
                *_duration_rank(source, candidates[item[0]]),
                -exactness(source, candidates[item[0]], isrc_hit=item[0] in hits),
                -item[1].confidence,
                item[0],
            )
        )
        ranked = (*tied, *scored[len(tied) :])
        chosen = tied[0]
        return Decision(
            chosen=chosen[0],
            confidence=chosen[1].confidence,
            verdict=Verdict.ACCEPT,
            ranked=ranked,
            reason="",
        )
    return Decision(
        chosen=None,
        confidence=best.confidence,
        verdict=best.verdict,
        ranked=tuple(scored),
        reason=_why_not(source, best, scored, candidates),
    )


def _why_not(
    source: TrackInfo, best: Score, scored: list[tuple[int, Score]], candidates: Sequence[TrackInfo]
) -> str:
    if best.verdict is Verdict.REVIEW:
        return f"needs review: {best.reasons[0]}" if best.reasons else "needs review"
    for index, s in scored:
        b = s.breakdown
        if b.get("version") == 0.0 and b["title"] >= 0.88 and b["artists"] >= 0.8:
            candidate = candidates[index]
            tags = titles_of(source, candidate)[1].tags & DIFFERENT_RECORDING
            if candidate.album:
                tags |= album_tags(candidate.album)
            return f"best is a different version: {version_label(tags)}"
    return "below the review threshold"
