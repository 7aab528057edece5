"""The track matcher: is this candidate (a provider's search result) the same recording as that track?

Pure (no I/O), deterministic and explainable: every answer carries a breakdown of its signals and short
reasons. docs/matching.md describes the rules and the evaluation (``python -m bench.matching``).

- :func:`score` one candidate → :class:`Score` (confidence in [0, 1], :class:`Verdict`, breakdown, reasons);
- :func:`decide` among candidates → :class:`Decision` (the chosen index or why none);
- :func:`search_terms` — the query a transfer sends for a track (title without noise, main artist);
- :func:`parse_title`, :func:`split_artists`, :func:`normalise` — the readings the scores are built on;
- :func:`read_title`, :func:`credit_names` — the same readings as written, for display.

Thresholds on the confidence:

- ``ACCEPT_AT = 0.85`` — at or above: the same recording, added without asking;
- ``REVIEW_AT = 0.60`` — from here to ACCEPT_AT: plausible, a person should confirm; below: rejected.

Rules no similarity outweighs: a live, remix, acoustic, instrumental, karaoke, cover, sped-up, slowed,
extended, demo, re-recorded or otherwise named version never matches the original nor another version
(nor another remixer's remix); a remaster or a radio edit is the same song (preferred when equal); an ISRC
hit is accepted only when title, artists, version and duration (within 10 s) agree; the explicit flag the
preference does not want goes to review.
"""

from pm_matching.decide import decide
from pm_matching.models import (
    ACCEPT_AT,
    REVIEW_AT,
    Decision,
    ExplicitPreference,
    Score,
    TrackInfo,
    Verdict,
)
from pm_matching.scoring import clear_caches, score
from pm_matching.text import CreditNames, credit_names, normalise, split_artists
from pm_matching.titles import (
    COSMETIC,
    DIFFERENT_RECORDING,
    ParsedTitle,
    SearchTerms,
    TitleReading,
    VersionTag,
    parse_title,
    read_title,
    search_terms,
)

__all__ = [
    "ACCEPT_AT",
    "COSMETIC",
    "DIFFERENT_RECORDING",
    "REVIEW_AT",
    "CreditNames",
    "Decision",
    "ExplicitPreference",
    "ParsedTitle",
    "Score",
    "SearchTerms",
    "TitleReading",
    "TrackInfo",
    "Verdict",
    "VersionTag",
    "clear_caches",
    "credit_names",
    "decide",
    "normalise",
    "parse_title",
    "read_title",
    "score",
    "search_terms",
    "split_artists",
]
