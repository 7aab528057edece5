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

# Apostrophes and the marks typed for one (after NFKD, which turns the full-width one into "'").
_APOSTROPHES = re.compile("['`\u00b4\u02b9\u02bc\u2018\u2019\u2032]")
# Accents are dropped only from the scripts where they are accents: elsewhere a combining mark makes
# another letter (Japanese dakuten, Devanagari virama, Thai tones).
_ACCENTED_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")
_NOT_ISRC = re.compile(r"[\s\-\u2010-\u2015]+")
# ISO 3901: CC-XXX-YY-NNNNN, often written without the dashes; 12 characters once they are gone.
_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
# ASCII text normalised in one C pass (what the general path does to it, without visiting each letter in
# Python: a request of 10,000 described tracks normalises 30,000 strings).
_ASCII_NORMALISED = {
    c: ("" if chr(c) in "'`" else chr(c).lower() if chr(c).isalnum() else " ") for c in range(128)
}


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
    provider_ids: dict[ProviderName, str] = field(default_factory=dict, hash=False)


def normalise_text(text: str) -> str:
    """Case, accents, punctuation and spacing removed: ``"Beyoncé - Halo!"`` → ``"beyonce halo"``;
    apostrophes go without a trace ("Don't" and "Dont" are one spelling).

    Brackets are kept as words: "Song (Live)" and "Song" are different recordings. Every script stays
    itself (a search for "東京" finds "東京"), unlike the matcher's ``pm_matching.normalise``, which
    transliterates to ASCII to compare one service's spelling with another's."""
    if not text.isascii():
        text = _APOSTROPHES.sub("", text)  # "Don\u2019t" is ASCII once its apostrophe is gone
    if text.isascii():
        return " ".join(text.translate(_ASCII_NORMALISED).split())
    return normalise_any_text(text)


def normalise_any_text(text: str) -> str:
    """:func:`normalise_text` letter by letter, whatever the script (its fast path gives the same)."""
    # Before and after NFKD: it turns some of them (the acute accent, U+00B4) into a space and a mark.
    decomposed = _APOSTROPHES.sub("", unicodedata.normalize("NFKD", _APOSTROPHES.sub("", text)))
    kept: list[str] = []
    for c in decomposed.casefold():
        if unicodedata.category(c).startswith("M"):  # a mark: an accent, a vowel sign, a tone
            if kept and not _accented(kept[-1]):
                kept.append(c)  # part of the letter: kept, recomposed below
        else:
            kept.append(c if c.isalnum() else " ")
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def _accented(base: str) -> bool:
    return unicodedata.name(base, "").startswith(_ACCENTED_SCRIPTS)


def normalise_isrc(isrc: str | None) -> str | None:
    """The ISRC in its 12-character form (upper case, no dashes or spaces), or None when it is not one."""
    if not isrc:
        return None
    compact = _NOT_ISRC.sub("", isrc).upper()
    return compact if _ISRC.fullmatch(compact) else None


def artists_key(artists: tuple[str, ...]) -> tuple[str, ...]:
    """The artists compared as a set of normalised names: providers order featured artists differently."""
    return tuple(sorted({name for name in map(normalise_text, artists) if name}))
