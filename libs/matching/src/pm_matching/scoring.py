"""Scoring one candidate against a source track: a confidence in [0, 1], a verdict, and why.

The confidence is the weighted mean of the signals both tracks give (title 0.55, artists 0.30, duration
0.15: a missing duration leaves the others' weights), minus penalties, plus a small album bonus, then
limited by rules that no similarity can outweigh:

- a different recording (``VersionTag`` in ``DIFFERENT_RECORDING`` on one side only, or two different
  remixers, venues or named versions) is rejected (at most 0.30);
- a title or artist unlike the source's rejects (title < 0.60, artists < 0.50: at most 0.45), and one only
  fairly like it goes to review (title < 0.88, artists < 0.80);
- a duration off by more than 10 s goes to review, by more than 90 s is rejected (a video may run up to
  45 s longer: ``TrackInfo.video`` or a title marked "(Official Video)");
- the wrong explicit flag for the preference (both flags known) costs 0.08 and goes to review;
- an ISRC hit lifts a compatible candidate (same version, title and artists ≥ 0.60, duration within 10 s)
  to at least 0.95, and does nothing for an incompatible one: different recordings sometimes share an ISRC.

Verdicts: ``ACCEPT`` at ``ACCEPT_AT`` (0.85) and above, ``REVIEW`` from ``REVIEW_AT`` (0.60), ``REJECT``
below. A capped score keeps a little of its order (``cap - 0.05 x (1 - uncapped)``), so rankings stay
meaningful inside a band.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz.distance import Levenshtein
from rapidfuzz.fuzz import token_set_ratio

from pm_matching.models import (
    ACCEPT_AT,
    REVIEW_AT,
    ExplicitPreference,
    Score,
    TrackInfo,
    verdict_of,
)
from pm_matching.text import artist_readings, credit_similarity, credits_agree, normalise
from pm_matching.titles import (
    COSMETIC,
    DIFFERENT_RECORDING,
    ParsedTitle,
    VersionTag,
    album_tags,
    artist_dash_title,
    parse_title,
)

WEIGHTS = {"title": 0.55, "artists": 0.30, "duration": 0.15}
# Seconds of difference at full duration score; past it the score degrades (see _duration_score).
DURATION_TOLERANCE_S = 3.0
REVIEW_DURATION_S = 10.0  # off by more: at most REVIEW
REJECT_DURATION_S = 90.0  # off by more: REJECT
VIDEO_LEEWAY_S = 45.0  # a video may run this much longer than its recording at no cost
TITLE_ACCEPT = 0.88  # title similarity below it: at most REVIEW
TITLE_REJECT = 0.60
ARTIST_ACCEPT = 0.80
ARTIST_REJECT = 0.50
ISRC_COMPATIBLE = 0.60  # title and artist similarity an ISRC hit still needs
ISRC_FLOOR = 0.95
MISSING_SUBTITLE = 0.85  # "This Love (Will Be Your Downfall)" vs "This Love": base similarity x this
NUMBERS_DIFFER = 0.6  # "Pt. 1" vs "Pt. 2": title similarity x this
EXPLICIT_PENALTY = 0.08
COSMETIC_PENALTY = 0.03  # remaster or radio edit on one side only, or two remaster years
UNNAMED_PENALTY = 0.04  # "Remix" vs "Tiesto Remix": probably, not surely, the same
CREDIT_PENALTY = 0.02  # the leads meet but one credit names an artist the other lacks
ALBUM_BONUS = 0.02
DESCRIPTOR_SAME = 80.0  # token_set_ratio of two remixers/venues at which they are the same

_VERSION_CAP = 0.30
_WRONG_CAP = 0.45
_REVIEW_CAP = ACCEPT_AT - 0.001
_LONG_DURATION_CAP = REVIEW_AT - 0.001

_NAMES = {
    VersionTag.LIVE: "live",
    VersionTag.REMIX: "remix",
    VersionTag.ACOUSTIC: "acoustic",
    VersionTag.INSTRUMENTAL: "instrumental",
    VersionTag.KARAOKE: "karaoke",
    VersionTag.COVER: "cover",
    VersionTag.SPED_UP: "sped up",
    VersionTag.SLOWED: "slowed",
    VersionTag.EXTENDED: "extended",
    VersionTag.DEMO: "demo",
    VersionTag.RERECORDED: "re-recorded",
    VersionTag.ALTERNATE: "other version",
}


def version_label(tags: frozenset[VersionTag]) -> str:
    """ "live", "remix + acoustic", or "original" ("studio" opposite a live one is said by the caller)."""
    named = sorted(_NAMES[t] for t in tags & DIFFERENT_RECORDING)
    return " + ".join(named) if named else "original"


@lru_cache(maxsize=65_536)
def _side(
    title: str, artists: tuple[str, ...], album: str | None, other_artists: tuple[str, ...]
) -> tuple[ParsedTitle, tuple[str, ...], tuple[str, ...], frozenset[VersionTag]]:
    """One track as compared: its parsed title (read as "Artist - Title" when the dashed head names the
    other side's artists), its artist readings with the featured artists moved in, and its versions
    (the title's plus those its album implies)."""
    head, rest = artist_dash_title(title, other_artists)
    if rest is not None:
        parsed = parse_title(rest)
        credit = (*artists, head, *parsed.featured)
    else:
        parsed = parse_title(title)
        credit = (*artists, *parsed.featured)
    split, whole = artist_readings(credit)
    versions = parsed.tags & DIFFERENT_RECORDING
    if album:
        versions |= album_tags(album)
    return parsed, split, whole, versions


_ALBUM_EXTRAS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\s[-\u2013\u2014:]\s.*$|:\s.*$")


@lru_cache(maxsize=32_768)
def _album_base(album: str) -> str:
    """An album's name without its brackets and subtitle: "Blacc Hollywood (Deluxe Version)" and
    "Blacc Hollywood [Explicit]" are one album here (a weak signal either way)."""
    return normalise(_ALBUM_EXTRAS.sub(" ", album)) or normalise(album)


def _title_similarity(s: ParsedTitle, c: ParsedTitle) -> float:
    if s.full == c.full:
        similarity = 1.0
    elif bool(s.subtitle) == bool(c.subtitle):
        similarity = Levenshtein.normalized_similarity(s.full, c.full)
    else:
        similarity = max(
            Levenshtein.normalized_similarity(s.full, c.full),
            MISSING_SUBTITLE * Levenshtein.normalized_similarity(s.base, c.base),
        )
    if s.numbers != c.numbers:
        similarity *= NUMBERS_DIFFER
    return similarity


@lru_cache(maxsize=65_536)
def _artist_similarity(
    s_split: tuple[str, ...], s_whole: tuple[str, ...], c_split: tuple[str, ...], c_whole: tuple[str, ...]
) -> tuple[float, bool]:
    """The better of the two readings (split at every separator, or only where no act's name can be), and
    whether the credits name the same artists. Cached: a source meets the same credits again and again
    among its search results."""
    if s_split == c_split or s_whole == c_whole or " ".join(s_split) == " ".join(c_split):
        return 1.0, True  # the last: "Earth, Wind & Fire" and "Earth Wind and Fire", one act either way
    similarity = max(credit_similarity(s_split, c_split), credit_similarity(s_whole, c_whole))
    return similarity, credits_agree(s_split, c_split) or credits_agree(s_whole, c_whole)


def _duration_score(off_s: float) -> float:
    """1 at 0 s, 0.97 at 3 s; 0.75 at 10 s; 0.3 at 30 s; 0 from 90 s."""
    if off_s <= DURATION_TOLERANCE_S:
        return 1.0 - 0.01 * off_s
    if off_s <= REVIEW_DURATION_S:
        return 0.97 - (off_s - DURATION_TOLERANCE_S) * (0.22 / 7.0)
    if off_s <= 30.0:
        return 0.75 - (off_s - REVIEW_DURATION_S) * (0.45 / 20.0)
    return max(0.0, 0.3 - (off_s - 30.0) * (0.3 / 60.0))


def _duration_off(source: TrackInfo, s: ParsedTitle, candidate: TrackInfo, c: ParsedTitle) -> float | None:
    if not source.duration_ms or not candidate.duration_ms:
        return None
    delta = (candidate.duration_ms - source.duration_ms) / 1000.0
    if delta > 0 and (candidate.video or c.video):
        return max(0.0, delta - VIDEO_LEEWAY_S)
    if delta < 0 and (source.video or s.video):
        return max(0.0, -delta - VIDEO_LEEWAY_S)
    return abs(delta)


def _r(value: float) -> float:
    """Four decimals (cheaper than round(), which costs about a microsecond here)."""
    return int(value * 10_000 + 0.5) / 10_000


def _isrc(value: str | None) -> str:
    return value.upper().replace("-", "").replace(" ", "") if value else ""


def _flag(value: bool | None) -> str:
    return "explicit" if value else "clean"


def score(
    source: TrackInfo,
    candidate: TrackInfo,
    *,
    preference: ExplicitPreference = ExplicitPreference.SOURCE,
    isrc_hit: bool = False,
) -> Score:
    """How likely ``candidate`` is the same recording as ``source`` (see the module's documentation for
    the rules and weights). ``isrc_hit``: the candidate was found by the source's ISRC. Pure; about 30 µs
    once both titles are parsed (a first parse costs 15-60 µs more: docs/matching.md, Speed)."""
    s, s_split, s_whole, s_versions = _side(source.title, source.artists, source.album, candidate.artists)
    c, c_split, c_whole, c_versions = _side(
        candidate.title, candidate.artists, candidate.album, source.artists
    )
    breakdown: dict[str, float] = {}
    problems: list[str] = []  # the reasons that lowered the score, most decisive first
    notes: list[str] = []  # the rest
    caps: list[float] = []
    penalty = 0.0

    title = _title_similarity(s, c)
    artists, same_credit = _artist_similarity(s_split, s_whole, c_split, c_whole)
    breakdown["title"] = _r(title)
    breakdown["artists"] = _r(artists)
    total = WEIGHTS["title"] * title + WEIGHTS["artists"] * artists
    weight = WEIGHTS["title"] + WEIGHTS["artists"]

    off = _duration_off(source, s, candidate, c)
    if off is not None:
        duration = _duration_score(off)
        breakdown["duration"] = _r(duration)
        total += WEIGHTS["duration"] * duration
        weight += WEIGHTS["duration"]
        if off > REJECT_DURATION_S:
            caps.append(_LONG_DURATION_CAP)
        elif off > REVIEW_DURATION_S:
            caps.append(_REVIEW_CAP)
        if off > DURATION_TOLERANCE_S:
            problems.append(f"duration off by {off:.0f} s")
    confidence = total / weight

    # Versions: a different recording never matches.
    same_version = s_versions == c_versions
    if not same_version:
        mine, theirs = version_label(s_versions), version_label(c_versions)
        if VersionTag.LIVE in s_versions ^ c_versions and "original" in (mine, theirs):
            mine, theirs = (m if m != "original" else "studio" for m in (mine, theirs))
        problems.insert(0, f"version differs: {theirs} vs {mine}")
    else:
        for tag in (VersionTag.REMIX, VersionTag.LIVE, VersionTag.ALTERNATE, VersionTag.RERECORDED):
            if tag not in s_versions:
                continue
            mine, theirs = s.descriptor(tag), c.descriptor(tag)
            if mine and theirs and mine != theirs and token_set_ratio(mine, theirs) < DESCRIPTOR_SAME:
                same_version = False
                problems.insert(0, f"different {_NAMES[tag]}: {theirs} vs {mine}")
            elif bool(mine) != bool(theirs):
                penalty += UNNAMED_PENALTY
                problems.append(f"{_NAMES[tag]} named on one side only: {mine or theirs}")
    breakdown["version"] = 1.0 if same_version else 0.0
    if not same_version:
        caps.append(_VERSION_CAP)
    for tag in COSMETIC:
        if (tag in s.tags) != (tag in c.tags):
            penalty += COSMETIC_PENALTY
            notes.append(f"{tag.value} on one side only")
    if s.remaster_year and c.remaster_year and s.remaster_year != c.remaster_year:
        penalty += COSMETIC_PENALTY
        notes.append(f"remaster years differ: {c.remaster_year} vs {s.remaster_year}")

    # Explicit and clean edits are different versions; which one is wanted depends on the preference.
    s_flag = source.explicit if source.explicit is not None else s.explicit
    c_flag = candidate.explicit if candidate.explicit is not None else c.explicit
    wanted = s_flag if preference is ExplicitPreference.SOURCE else preference is ExplicitPreference.EXPLICIT
    if wanted is not None and c_flag is not None:
        breakdown["explicit"] = 1.0 if c_flag == wanted else 0.0
        if c_flag != wanted:
            penalty += EXPLICIT_PENALTY
            caps.append(_REVIEW_CAP)
            problems.append(f"explicit differs: {_flag(c_flag)} vs {_flag(wanted)} wanted")

    if source.album and candidate.album:
        album = Levenshtein.normalized_similarity(_album_base(source.album), _album_base(candidate.album))
        breakdown["album"] = _r(album)
        if album >= 0.9:
            confidence += ALBUM_BONUS
            notes.append("album equal")

    # ISRC: strong evidence for a compatible candidate, none for an incompatible one.
    s_isrc, c_isrc = _isrc(source.isrc), _isrc(candidate.isrc)
    isrc_equal = isrc_hit or bool(s_isrc and s_isrc == c_isrc)
    if isrc_equal or (s_isrc and c_isrc):
        breakdown["isrc"] = 1.0 if isrc_equal else 0.0
    lifted = False
    if isrc_equal:
        compatible = (
            same_version
            and (off is None or off <= REVIEW_DURATION_S)
            and title >= ISRC_COMPATIBLE
            and artists >= ISRC_COMPATIBLE
        )
        if compatible:
            confidence = max(confidence, ISRC_FLOOR + 0.05 * min(title, artists))
            lifted = True
            notes.insert(0, "ISRC equal")
        else:
            notes.insert(0, "ISRC equal, but not the same version, title or duration")

    if not lifted:
        if title < TITLE_REJECT:
            caps.append(_WRONG_CAP)
        elif title < TITLE_ACCEPT:
            caps.append(_REVIEW_CAP)
        if artists < ARTIST_REJECT:
            caps.append(_WRONG_CAP)
        elif artists < ARTIST_ACCEPT:
            caps.append(_REVIEW_CAP)
    if title < TITLE_ACCEPT:
        problems.append(f"title differs: {c.full!r} vs {s.full!r} ({title:.2f})")
    else:
        notes.append("title equal" if title == 1.0 else f"title similar ({title:.2f})")
    if artists < ARTIST_ACCEPT:
        problems.append(f"artists differ ({artists:.2f})")
    elif not same_credit:
        # "bad guy" vs "bad guy (with Justin Bieber)": often another version, sometimes a store's omission.
        penalty += CREDIT_PENALTY
        notes.append(f"artist credits differ: {', '.join(c_split)} vs {', '.join(s_split)}")
    else:
        notes.append("artists match" if artists == 1.0 else f"artists similar ({artists:.2f})")

    uncapped = min(1.0, confidence) - penalty  # a bonus never makes up for a penalty beyond perfect
    confidence = uncapped
    if caps:
        cap = min(caps)
        confidence = min(confidence, cap - 0.05 * (1.0 - max(0.0, uncapped)))
    confidence = round(max(0.0, min(1.0, confidence)), 4)
    breakdown["penalty"] = _r(penalty)
    return Score(
        confidence=confidence,
        verdict=verdict_of(confidence),
        breakdown=breakdown,
        reasons=(*problems, *notes),
    )


def titles_of(source: TrackInfo, candidate: TrackInfo) -> tuple[ParsedTitle, ParsedTitle]:
    """The two titles as :func:`score` read them (a YouTube "Artist - Song" read as "Song"); cached."""
    s = _side(source.title, source.artists, source.album, candidate.artists)[0]
    c = _side(candidate.title, candidate.artists, candidate.album, source.artists)[0]
    return s, c


def duration_off(source: TrackInfo, candidate: TrackInfo) -> tuple[float | None, bool]:
    """Seconds between the durations as the score counts them (a video's leeway taken off; None when one
    is unknown), and whether the candidate is a video (``TrackInfo.video``, or "(Official Video)")."""
    s, c = titles_of(source, candidate)
    return _duration_off(source, s, candidate, c), candidate.video or c.video


def exactness(source: TrackInfo, candidate: TrackInfo, *, isrc_hit: bool = False) -> int:
    """How literally a candidate agrees with the source beyond what the score weighs, to rank candidates
    the score cannot tell apart ("SOS" vs "SOS (feat. Aloe Blacc)", an album track vs its compilation
    copy): the same ISRC counts 2, the title read the same way (featured artists, remaster, markers) 1,
    the same artist set 1, the same album name 2 (1 when only their names without brackets agree)."""
    s, s_split, s_whole, _ = _side(source.title, source.artists, source.album, candidate.artists)
    c, c_split, c_whole, _ = _side(candidate.title, candidate.artists, candidate.album, source.artists)
    s_isrc, c_isrc = _isrc(source.isrc), _isrc(candidate.isrc)
    points = 2 if isrc_hit or (s_isrc and s_isrc == c_isrc) else 0
    same_title = (s.full, s.featured, s.tags, s.remaster_year, s.explicit) == (
        c.full,
        c.featured,
        c.tags,
        c.remaster_year,
        c.explicit,
    )
    points += same_title
    points += _artist_similarity(s_split, s_whole, c_split, c_whole)[1]
    if source.album and candidate.album:
        if normalise(source.album) == normalise(candidate.album):
            points += 2
        elif _album_base(source.album) == _album_base(candidate.album):
            points += 1
    return points


def clear_caches() -> None:
    """Forget every cached parse and comparison (for cold-cache benchmarks; the caches are bounded, a
    long-running service never needs this)."""
    from pm_matching import text, titles

    for cached in (
        text.normalise,
        text.artist_readings,
        titles.parse_title,
        titles.album_tags,
        titles._names_artist,
        _side,
        _album_base,
        _artist_similarity,
    ):
        cached.cache_clear()
