"""Text folding and artist lists: the forms two stores' spellings are compared in.

Pure and cached: a transfer compares the same source strings with many candidates, so each distinct
string is folded once (``functools.lru_cache``; the caches are bounded).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from anyascii import anyascii
from rapidfuzz.distance import Indel

# Deleted without a space: "don't" → "dont", "G.U.Y." → "guy", "P!nk" → "pnk".
_DELETED = re.compile(r"['\u2019\u2018`\u00b4.!]")
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_SPACED_PLUS = re.compile(r"\s\+\s")

# Separators that always split an artist credit (before folding, on the raw text).
_HARD_SPLIT = re.compile(
    r"\s*(?:[,;/]|\s(?:feat\.?|ft\.?|featuring|with|w/|vs\.?|versus|x)\s|\((?:feat\.?|ft\.?|featuring|with)\s)\s*",
    re.IGNORECASE,
)
# Separators that may be part of one act's name ("Simon & Garfunkel", "Florence and the Machine"): split in
# one reading only, on the folded text ("&" is folded to "and").
_SOFT_SPLIT = re.compile(r"\s(?:and)\s")
# A cheap test for _HARD_SPLIT's separators (most credits have none).
_HARD_HINT = re.compile(r"[,;/(]|\s(?:feat|ft|featuring|with|w/|vs|versus|x)\b", re.IGNORECASE)
# YouTube channels named after an artist: "<Artist> - Topic" (auto-generated), "<Artist>VEVO".
_CHANNEL_SUFFIXES = (" - topic", " official")


@lru_cache(maxsize=65_536)
def normalise(text: str) -> str:
    """The comparable form of a title, artist or album: Unicode folded to ASCII (anyascii: "Beyoncé" →
    "beyonce", "Motörhead" → "motorhead"), case folded, "&" and a spaced "+" read as "and", apostrophes,
    dots and "!" deleted, any other punctuation a space, whitespace collapsed. For comparing, never shown
    or searched (the library's own key, ``pm_playlist.domain.tracks.normalise_text``, keeps each script)."""
    folded = text if text.isascii() else anyascii(text)
    folded = folded.casefold().replace("&", " and ")
    folded = _SPACED_PLUS.sub(" and ", folded)
    folded = _DELETED.sub("", folded)
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def _drop_the(name: str) -> str:
    rest = name.removeprefix("the ")
    return rest if rest else name


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _clean_credit(raw: str) -> str:
    """Without a channel suffix; a VEVO channel's run-together name spaced out ("TheWhoVEVO" → "The Who")."""
    raw = raw.strip()
    lowered = raw.lower()
    if lowered.endswith("vevo"):
        return _CAMEL.sub(" ", raw[:-4]) if " " not in raw else raw[:-4].strip()
    for suffix in _CHANNEL_SUFFIXES:
        if lowered.endswith(suffix):
            return raw[: -len(suffix)].strip()
    return raw


def _hard_split(raw: str) -> list[str]:
    return _HARD_SPLIT.split(raw) if _HARD_HINT.search(raw) else [raw]


@lru_cache(maxsize=32_768)
def artist_readings(artists: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Two readings of an artist credit, each a tuple of folded names in credit order, no duplicates:
    split at every separator ("A & B" is two artists), and split only where no act's name can be
    ("Simon & Garfunkel", "Earth, Wind & Fire" stay whole when written with "&"/"and"). A leading "The" is
    dropped from each name; YouTube's "- Topic" and "VEVO" channel suffixes too."""
    whole: list[str] = []
    split: list[str] = []
    for raw in artists:
        for part in _hard_split(_clean_credit(raw)):
            name = normalise(part.strip(" )"))
            if not name:
                continue
            whole.append(_drop_the(name))
            split.extend(_drop_the(p) for p in _SOFT_SPLIT.split(name) if p)
    return tuple(dict.fromkeys(split)), tuple(dict.fromkeys(whole))


class CreditNames(NamedTuple):
    """The names of one artist credit as written: case, accents and punctuation kept, whitespace collapsed."""

    main: tuple[str, ...]
    featured: tuple[str, ...]  # the names after a featuring separator ("A feat. B": "B")


# The separators of _HARD_SPLIT after which the names are featured artists, not main ones.
_FEATURING_SEPARATORS = frozenset({"feat", "ft", "featuring", "with", "w/"})


def _split_as_written(part: str) -> list[str]:
    """``part``'s names as written, split where the split reading splits it: at a word that folds to "and"
    ("&", "and", a spaced "+"), so the separators are :func:`normalise`'s, not a second list."""
    names: list[list[str]] = [[]]
    for word in part.strip(" )").split():
        if normalise(f" {word} ") == "and":
            names.append([])
        else:
            names[-1].append(word)
    return [" ".join(words) for words in names if words]


def credit_names(credit: str) -> CreditNames:
    """One artist credit's names for display, split where :func:`split_artists` splits it ("A & B", "A, B and
    C", "A feat. B", "A x B"; a channel's "- Topic" or "VEVO" suffix dropped), in credit order. Names may
    repeat: comparing them is the caller's business (by :func:`normalise`). Pure."""
    cleaned = _clean_credit(credit)
    main: list[str] = []
    featured: list[str] = []
    into, start = main, 0
    for separator in _HARD_SPLIT.finditer(cleaned) if _HARD_HINT.search(cleaned) else ():
        into.extend(_split_as_written(cleaned[start : separator.start()]))
        if separator.group().strip().lstrip("(").rstrip(".").casefold() in _FEATURING_SEPARATORS:
            into = featured
        start = separator.end()
    into.extend(_split_as_written(cleaned[start:]))
    return CreditNames(tuple(main), tuple(featured))


def split_artists(artists: Sequence[str]) -> tuple[str, ...]:
    """The normalised artist set of a credit: "A & B", "A, B", "A feat. B", "A ft B", "A x B", "A and B"
    all give ``("a", "b")``; a leading "The" is dropped and text folded as :func:`normalise` does.

    This is the fully split reading; matching also compares the unsplit one (:func:`artist_readings`), so
    "Simon & Garfunkel" written "Simon and Garfunkel" elsewhere still matches as one act."""
    return artist_readings(tuple(artists))[0]


def name_similarity(a: str, b: str) -> float:
    """0..1: how alike two folded names are, ignoring spaces too ("taylorswift" from a VEVO channel)."""
    if a == b:
        return 1.0
    plain: float = Indel.normalized_similarity(a, b)
    if plain >= 0.95 or (" " in a) == (" " in b):
        return plain
    joined: float = Indel.normalized_similarity(a.replace(" ", ""), b.replace(" ", ""))
    return max(plain, joined)


def _best(name: str, others: Sequence[str], others_set: frozenset[str] | set[str]) -> float:
    if name in others_set:
        return 1.0
    return max((name_similarity(name, other) for other in others), default=0.0)


def credit_similarity(source: Sequence[str], candidate: Sequence[str]) -> float:
    """0..1 for two readings of artist credits: mostly whether the main artists meet (the source's first is
    in the candidate's credit, or the candidate's first in the source's), plus how much of the shorter
    credit the longer one covers (a featured artist one store leaves out costs nothing)."""
    if not source or not candidate:
        return 0.0
    if source == candidate:
        return 1.0
    s_set, c_set = set(source), set(candidate)
    if source[0] in c_set or candidate[0] in s_set:
        lead = 1.0
    else:
        lead = max(_best(source[0], candidate, c_set), _best(candidate[0], source, s_set))
    shorter, longer, longer_set = (
        (source, candidate, c_set) if len(source) <= len(candidate) else (candidate, source, s_set)
    )
    covered = sum(1 for name in shorter if _best(name, longer, longer_set) >= 0.85) / len(shorter)
    return 0.8 * lead + 0.2 * covered


def credits_agree(source: Sequence[str], candidate: Sequence[str]) -> bool:
    """Whether two credits name the same artists, every one of each in the other (spelling aside): "SOS" by
    Avicii and "SOS" by Avicii, Aloe Blacc do not agree, though their leads do."""
    if source == candidate:
        return True
    if not source or not candidate:
        return False
    s_set, c_set = set(source), set(candidate)
    return all(_best(name, candidate, c_set) >= 0.85 for name in source) and all(
        _best(name, source, s_set) >= 0.85 for name in candidate
    )
