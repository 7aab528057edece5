"""Confusion counts and the figures drawn from them (precision, recall, F1), and the peer-style baseline."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from pm_matching import TrackInfo


@dataclass
class Counts:
    """A confusion matrix of match predictions; ``review`` counts the pairs the matcher sent to review
    (they are predicted no-match in tp/fp/fn/tn), ``review_matches`` those of them labelled matches."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    review: int = 0
    review_matches: int = 0

    def add(self, label: bool, predicted: bool, *, review: bool = False) -> None:
        if predicted:
            if label:
                self.tp += 1
            else:
                self.fp += 1
        elif label:
            self.fn += 1
        else:
            self.tn += 1
        if review:
            self.review += 1
            self.review_matches += int(label)

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float | None:
        """None when nothing was predicted a match (undefined)."""
        predicted = self.tp + self.fp
        return self.tp / predicted if predicted else None

    @property
    def recall(self) -> float | None:
        """None when nothing is labelled a match (undefined)."""
        actual = self.tp + self.fn
        return self.tp / actual if actual else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


def fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def baseline_match(source: TrackInfo, candidate: TrackInfo) -> bool:
    """What a typical playlist-transfer tool does: take the first search hit whose title and artist
    fuzzy-match (rapidfuzz ratio ≥ 80 on lower-cased strings)."""
    title = fuzz.ratio(source.title.lower(), candidate.title.lower())
    artist = fuzz.ratio(" ".join(source.artists).lower(), " ".join(candidate.artists).lower())
    return title >= 80 and artist >= 80
