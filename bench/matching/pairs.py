"""The labelled iTunes-Amazon pairs: reading the CSV, undoing its tokenisation, classing each pair.

The pairs file (``data/itunes-amazon/pairs.csv``; SOURCE.md there) has one row per pair: ``split``,
``label`` and eight attributes per side (``itunes_Song_Name`` ... ``amazon_Released``). Values are
whitespace-tokenised ("I 'm", "( feat . X )", "$ 1.29"): :func:`detokenise` recovers display strings.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pm_matching import TrackInfo
from pm_matching.text import normalise

DEFAULT_PAIRS = Path(__file__).resolve().parent / "data" / "itunes-amazon" / "pairs.csv"

# DeepMatcher's tokenisation, undone: the space before closing punctuation and contractions, the space
# after opening brackets and currency, and Penn-Treebank quotes.
_OPENING_QUOTE = re.compile(r"``\s*")
_CLOSING_QUOTE = re.compile(r"\s*''")
_SPACE_BEFORE = re.compile(r"\s+([.,!?;:%)\]}]|n't\b|'(?:s|re|ve|ll|d|m)\b)", re.IGNORECASE)
_SPACE_AFTER = re.compile(r"([(\[{$#])\s+")
_TRAILING_APOSTROPHE = re.compile(r"(\w)\s+'(?=\s|$)")  # "Livin '" → "Livin'"


def detokenise(value: str) -> str:
    """A display string from a tokenised value: ``"I 'm a Machine ( feat . X )"`` → ``"I'm a Machine
    (feat. X)"``, ``"Ai n't"`` → ``"Ain't"``, ``"$ 1.29"`` → ``"$1.29"``, ``"`` Listen Up ''"`` →
    ``'"Listen Up"'``."""
    text = " ".join(value.split())
    text = _OPENING_QUOTE.sub('"', text)
    text = _CLOSING_QUOTE.sub('"', text)
    text = _SPACE_BEFORE.sub(r"\1", text)
    text = _SPACE_AFTER.sub(r"\1", text)
    text = _TRAILING_APOSTROPHE.sub(r"\1'", text)
    return text.strip()


def parse_time(value: str) -> int | None:
    """Milliseconds of an "m:ss" (or "h:mm:ss") duration; None when it is not one."""
    parts = value.strip().split(":")
    if len(parts) < 2 or not all(p.strip().isdigit() for p in parts):
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return seconds * 1000


class PairClass(StrEnum):
    """Difficulty classes, derived from the pair alone (label, titles, artists, albums)."""

    MATCH_SAME_TITLE = "match, same title"  # the titles fold to the same text
    MATCH_TITLE_DIFFERS = (
        "match, title differs"  # "(feat. X)" vs "[feat. X]", "[Explicit]", "(Album Version)"
    )
    OTHER_VERSION = "non-match, same song other version"  # same title before its brackets/dash: remix, live
    NEAR_MISS = "non-match, same artist and album"  # another song of the same record
    OTHER = "non-match, other"


@dataclass(frozen=True)
class Pair:
    split: str
    label: bool
    source: TrackInfo  # the iTunes side
    candidate: TrackInfo  # the Amazon side
    kind: PairClass


_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|\s-\s.*$")


def stem(title: str) -> str:
    """A title before its brackets and dashed suffix, folded: what "the same song" means for classing."""
    return normalise(_BRACKETS.sub(" ", title))


def classify(label: bool, source: TrackInfo, candidate: TrackInfo) -> PairClass:
    if label:
        same = normalise(source.title) == normalise(candidate.title)
        return PairClass.MATCH_SAME_TITLE if same else PairClass.MATCH_TITLE_DIFFERS
    if stem(source.title) == stem(candidate.title):
        return PairClass.OTHER_VERSION
    same_artist = normalise(source.artists[0]) == normalise(candidate.artists[0])
    if same_artist and stem(source.album or "") == stem(candidate.album or ""):
        return PairClass.NEAR_MISS
    return PairClass.OTHER


def _track(row: dict[str, str], side: str) -> TrackInfo:
    album = detokenise(row[f"{side}_Album_Name"])
    return TrackInfo(
        title=detokenise(row[f"{side}_Song_Name"]),
        artists=(detokenise(row[f"{side}_Artist_Name"]),),
        album=album or None,
        duration_ms=parse_time(row[f"{side}_Time"]),
    )


def read_pairs(rows: Iterable[dict[str, str]]) -> list[Pair]:
    """Pairs from CSV rows in the pairs layout (iTunes = source, Amazon = candidate)."""
    pairs = []
    for row in rows:
        label = row["label"].strip() == "1"
        source, candidate = _track(row, "itunes"), _track(row, "amazon")
        pairs.append(Pair(row["split"].strip(), label, source, candidate, classify(label, source, candidate)))
    return pairs


def load_pairs(path: Path = DEFAULT_PAIRS, split: str = "all") -> list[Pair]:
    """The pairs of ``split`` ("train", "valid" or "all") in the file at ``path``."""
    with path.open(newline="", encoding="utf-8") as f:
        pairs = read_pairs(csv.DictReader(f))
    return [p for p in pairs if split == "all" or p.split == split]
