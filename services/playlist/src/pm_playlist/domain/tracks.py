"""Tracks as the library knows them (pure): what a provider told us about a recording, and the
normalised forms the library compares them by.

A track is one recording: title, the artists in the provider's order, album, duration, ISRC, explicit
flag, release date, and every provider id known for it (one library track may be known to several
providers). Comparing two tracks by their metadata goes through :func:`normalise_text`, so that case,
accents, punctuation and spacing never make two spellings of one title differ.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from pm_contracts.providers import ProviderName

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_APOSTROPHES = re.compile("['\u2019\u02bc`]")
# ISO 3901: CC-XXX-YY-NNNNN, often written without the dashes; 12 characters once they are gone.
_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")


@dataclass(frozen=True, slots=True)
class Track:
    title: str
    artists: tuple[str, ...]
    album: str | None = None
    duration_ms: int | None = None
    isrc: str | None = None
    explicit: bool | None = None
    release_date: date | None = None
    # Every provider's id for this recording, e.g. {"spotify": "4uLU6hMCjMI75M1A2tKUQC"}.
    provider_ids: dict[ProviderName, str] = field(default_factory=dict)


def normalise_text(text: str) -> str:
    """Case, accents, punctuation and spacing removed: ``"Beyoncé - Halo!"`` → ``"beyonce halo"``;
    apostrophes go without a trace ("Don't" and "Dont" are one spelling).

    Brackets are kept as words: "Song (Live)" and "Song" are different recordings."""
    decomposed = unicodedata.normalize("NFKD", _APOSTROPHES.sub("", text))
    without_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", without_marks.casefold()).strip()


def normalise_isrc(isrc: str | None) -> str | None:
    """The ISRC in its 12-character form (upper case, no dashes or spaces), or None when it is not one."""
    if not isrc:
        return None
    compact = isrc.replace("-", "").replace(" ", "").upper()
    return compact if _ISRC.match(compact) else None


def artists_key(artists: tuple[str, ...]) -> tuple[str, ...]:
    """The artists compared as a set of normalised names: providers order featured artists differently."""
    return tuple(sorted({normalise_text(a) for a in artists if normalise_text(a)}))
