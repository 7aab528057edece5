"""Text and field search over a provider catalog (pure, deterministic ranking).

Each provider's query language is parsed into a :class:`Query` (free words plus field filters);
:class:`SearchIndex` answers it. Ranking: popularity descending, then id, so results are stable.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field


def fold(text: str) -> str:
    """Case- and accent-insensitive form used for matching."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("&", " and ")
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def tokens(text: str) -> list[str]:
    return fold(text).split()


@dataclass(frozen=True, slots=True)
class SearchDoc:
    id: str
    title: str
    artists: str
    album: str
    isrc: str | None
    year: int | None
    popularity: float
    duration_s: int = 0


@dataclass(slots=True)
class Query:
    words: list[str] = field(default_factory=list)
    track: list[str] = field(default_factory=list)
    artist: list[str] = field(default_factory=list)
    album: list[str] = field(default_factory=list)
    isrc: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    dur_min: int | None = None
    dur_max: int | None = None

    @property
    def empty(self) -> bool:
        return not (self.words or self.track or self.artist or self.album or self.isrc)


_FIELD_RE = re.compile(r'(\w+):("([^"]*)"|\S+)')


def parse_field_query(q: str, aliases: dict[str, str] | None = None) -> Query:
    """Parse ``word track:"a b" artist:x isrc:Y year:1990-1999`` (Spotify and Deezer syntax)."""
    aliases = aliases or {}
    query = Query()
    rest = []
    pos = 0
    for m in _FIELD_RE.finditer(q):
        rest.append(q[pos : m.start()])
        pos = m.end()
        name = aliases.get(m.group(1).lower(), m.group(1).lower())
        value = m.group(3) if m.group(3) is not None else m.group(2)
        if name == "track":
            query.track.extend(tokens(value))
        elif name == "artist":
            query.artist.extend(tokens(value))
        elif name == "album":
            query.album.extend(tokens(value))
        elif name == "isrc":
            query.isrc = value.strip().upper()
        elif name == "year":
            lo, _, hi = value.partition("-")
            if lo.isdigit():
                query.year_from = int(lo)
                query.year_to = int(hi) if hi.isdigit() else int(lo)
        elif name == "dur_min" and value.isdigit():
            query.dur_min = int(value)
        elif name == "dur_max" and value.isdigit():
            query.dur_max = int(value)
        else:  # unknown filters (genre:, tag:, label:) are read as words, as the services do
            rest.append(" " + value + " ")
    rest.append(q[pos:])
    free = " ".join(rest)
    # Double quotes group words, as the providers' search boxes do; an apostrophe is part of a word
    # ("Guns N' Roses", "Don't"), never a quote.
    lexer = shlex.shlex(free, posix=True)
    lexer.quotes = '"'
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        parts = list(lexer)
    except ValueError:
        parts = free.split()
    for part in parts:
        query.words.extend(tokens(part))
    return query


class SearchIndex:
    """Inverted index over title, artist and album words; exact ISRC index."""

    def __init__(self, docs: Iterable[SearchDoc]) -> None:
        self.docs: dict[str, SearchDoc] = {}
        self._postings: dict[str, set[str]] = defaultdict(set)
        self._title: dict[str, frozenset[str]] = {}
        self._artist: dict[str, frozenset[str]] = {}
        self._album: dict[str, frozenset[str]] = {}
        self._isrc: dict[str, list[str]] = defaultdict(list)
        for d in docs:
            self.docs[d.id] = d
            t, a, al = frozenset(tokens(d.title)), frozenset(tokens(d.artists)), frozenset(tokens(d.album))
            self._title[d.id], self._artist[d.id], self._album[d.id] = t, a, al
            for w in t | a | al:
                self._postings[w].add(d.id)
            if d.isrc:
                self._isrc[d.isrc.upper()].append(d.id)

    def by_isrc(self, isrc: str) -> list[str]:
        return sorted(self._isrc.get(isrc.upper(), []), key=self._rank)

    def _rank(self, doc_id: str) -> tuple[float, str]:
        return (-self.docs[doc_id].popularity, doc_id)

    def search(self, query: Query) -> list[str]:
        """Ids of the documents matching every word and filter, best first."""
        if query.empty:
            return []
        candidates: set[str] | None = None
        if query.isrc:
            candidates = set(self._isrc.get(query.isrc, []))
        for w in [*query.words, *query.track, *query.artist, *query.album]:
            posting = self._postings.get(w, set())
            candidates = set(posting) if candidates is None else candidates & posting
            if not candidates:
                return []
        assert candidates is not None
        out = []
        for doc_id in candidates:
            d = self.docs[doc_id]
            if query.track and not set(query.track) <= self._title[doc_id]:
                continue
            if query.artist and not set(query.artist) <= self._artist[doc_id]:
                continue
            if query.album and not set(query.album) <= self._album[doc_id]:
                continue
            if query.year_from is not None and (
                d.year is None or not query.year_from <= d.year <= (query.year_to or 9999)
            ):
                continue
            if query.dur_min is not None and d.duration_s < query.dur_min:
                continue
            if query.dur_max is not None and d.duration_s > query.dur_max:
                continue
            out.append(doc_id)
        out.sort(key=self._rank)
        return out
