"""Batching and small text rules (pure)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Consecutive batches of at most ``size`` items, in order (none for an empty sequence)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def calls_for(count: int, batch: int) -> int:
    """Requests needed to send ``count`` items ``batch`` at a time."""
    return -(-count // batch) if count > 0 else 0


def fit_name(name: str, limit: int | None) -> str:
    """``name`` cut to ``limit`` characters without splitting a character from its combining marks
    or an emoji sequence (ZWJ, variation selectors, skin tones)."""
    name = unicodedata.normalize("NFC", name)
    if limit is None or len(name) <= limit:
        return name
    cut = limit
    while cut > 0 and _joins_previous(name[cut]):
        cut -= 1
    if cut > 0 and name[cut - 1] == "\u200d":
        cut -= 1
    return name[:cut].rstrip()


def _joins_previous(ch: str) -> bool:
    return (
        unicodedata.combining(ch) != 0
        or ch in ("\u200d", "\ufe0e", "\ufe0f")
        or "\U0001f3fb" <= ch <= "\U0001f3ff"
        or "\U000e0020" <= ch <= "\U000e007f"
    )


_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def iso_duration_ms(value: str | None) -> int | None:
    """``PT3M25S`` → 205000; None for a missing or malformed value (never a guess)."""
    if not value:
        return None
    m = _ISO_DURATION.match(value.strip())
    if m is None or value.strip() in ("P", "PT"):
        return None
    days, hours, minutes, seconds = (float(m.group(k) or 0) for k in ("d", "h", "m", "s"))
    return round(((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000)
