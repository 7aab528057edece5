"""Track titles taken apart: the song's name, its featured artists, which version it is, and noise.

Stores spell one song many ways: ``Song (feat. X) - Remastered 2011``, ``Song [feat. X]``, ``Song (Radio
Edit)``, ``Artist - Song (Official Video)``. :func:`parse_title` reads each bracketed group (nested ones
too: ``(Album Version (Explicit))``) and each spaced-dash segment and sorts it into one of:

- **featured artists** (``feat.``, ``ft.``, ``featuring``, ``with``, ``+``): moved to the artist list;
- **a version that is a different recording** — :data:`DIFFERENT_RECORDING`: live, remix (with its remixer),
  acoustic, instrumental, karaoke, cover, sped up, slowed, extended, demo, re-recorded ("Taylor's Version",
  "2012 Version") and any other named version ("Spanish Version", "Piano Version"). A version never matches
  the original recording, nor another version;
- **a cosmetic version** — remaster and radio edit: the same song to a listener. They are recorded (a
  candidate with the same status is preferred) but never separate two tracks; a radio edit that is much
  shorter is told apart by its duration;
- **explicit / clean markers** (``[Explicit]``, ``[Clean]``, ``(Edited)``): the explicit flag, not a version;
- **noise**: ``Album Version``, ``Bonus Track``, ``Deluxe Edition``, ``Official Video``, ``Lyrics``,
  ``From "Film"``, a year alone...;
- anything else is a **subtitle**, part of the title (``This Love (Will Be Your Downfall)``).

Parsing is cached on the string (:func:`parse_title` is an ``lru_cache``): a transfer parses each source
title once however many candidates it meets.

The same reading keeps the text each part came from, as written, for display (:func:`read_title`: the
song's name, its subtitles, featured artists and version descriptors): one grammar for matching and showing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from pm_matching.models import TrackInfo
from pm_matching.text import artist_readings, credit_names, credit_similarity, normalise


class VersionTag(StrEnum):
    """Which version of a song a title names. See :data:`DIFFERENT_RECORDING` and :data:`COSMETIC`."""

    LIVE = "live"
    REMIX = "remix"
    ACOUSTIC = "acoustic"
    INSTRUMENTAL = "instrumental"
    KARAOKE = "karaoke"
    COVER = "cover"
    SPED_UP = "sped up"
    SLOWED = "slowed"
    EXTENDED = "extended"
    DEMO = "demo"
    RERECORDED = "re-recorded"
    # A version named by another word: "(Spanish Version)", "(Piano Version)", "- Salsa Version".
    ALTERNATE = "other version"
    REMASTER = "remaster"
    RADIO_EDIT = "radio edit"


# Versions that are another recording than the original: a candidate must carry exactly the same ones.
DIFFERENT_RECORDING = frozenset(
    {
        VersionTag.LIVE,
        VersionTag.REMIX,
        VersionTag.ACOUSTIC,
        VersionTag.INSTRUMENTAL,
        VersionTag.KARAOKE,
        VersionTag.COVER,
        VersionTag.SPED_UP,
        VersionTag.SLOWED,
        VersionTag.EXTENDED,
        VersionTag.DEMO,
        VersionTag.RERECORDED,
        VersionTag.ALTERNATE,
    }
)
# The same song to a listener: noted, preferred when equal, never a reason to refuse a match.
COSMETIC = frozenset({VersionTag.REMASTER, VersionTag.RADIO_EDIT})


class ParsedTitle(NamedTuple):
    """A title taken apart (every text field folded by :func:`~pm_matching.text.normalise`). Immutable (a
    named tuple: cheap to build, and shared by the parse cache)."""

    base: str  # the song's name without brackets, dashed segments and featured artists
    subtitle: str  # bracketed or dashed text that is part of the title ("will be your downfall"), or ""
    featured: tuple[str, ...]  # featured artists found in the title, folded
    tags: frozenset[VersionTag]
    # What distinguishes two versions of one kind: the remixer, the venue, the named version ("spanish").
    descriptors: tuple[tuple[VersionTag, str], ...]
    remaster_year: int | None
    explicit: bool | None  # from "[Explicit]" / "[Clean]" / "(Edited)" markers, None without one
    video: bool  # "(Official Video)", "(Lyric Video)": a video, whose duration may run longer
    numbers: frozenset[str]  # numbers in the base title, roman part numbers as digits ("Pt. II" → "2")
    search_title: str  # the title a search engine should get (original script, version words kept)

    @property
    def remaster(self) -> bool:
        return VersionTag.REMASTER in self.tags

    @property
    def full(self) -> str:
        """The base title and the subtitle: the name compared when both stores give a subtitle."""
        return f"{self.base} {self.subtitle}" if self.subtitle else self.base

    def descriptor(self, tag: VersionTag) -> str:
        for t, text in self.descriptors:
            if t is tag:
                return text
        return ""


class TitleReading(NamedTuple):
    """A title taken apart twice over: folded for comparing (``parsed``) and as written for showing (case,
    accents and punctuation kept, whitespace collapsed). Built by the same reading as :func:`parse_title`."""

    parsed: ParsedTitle
    name: str  # the song's name: ``parsed.base`` as written ("" when the title is only brackets and dashes)
    # Each subtitle as written with what set it apart: its brackets ("(Will Be Your Downfall)"), or " - "
    # before a dashed one. Dashed subtitles come first, then bracketed ones, each in title order.
    subtitles: tuple[str, ...]
    featured: tuple[str, ...]  # featured artists as written, split as credit_names splits them
    descriptors: tuple[tuple[VersionTag, str], ...]  # ``parsed.descriptors`` as written ("Tiësto")

    @property
    def title(self) -> str:
        """The song's name and its subtitles, without featured artists, versions, markers and noise; "" when
        nothing of the title is left."""
        shown = "".join([self.name, *self.subtitles]).strip()
        return shown.removeprefix("- ") if not self.name else shown


class SearchTerms(NamedTuple):
    """What a provider search is asked for: the song's name and its main artist (original script)."""

    title: str
    artist: str


# ---- reading segments ---------------------------------------------------------------------------------------

_OPEN = {"(": ")", "[": "]", "{": "}"}
_DASH = re.compile(r"\s+[-\u2013\u2014]\s+")  # hyphen, en dash, em dash
_FEAT_LEAD = re.compile(r"^\s*(?:feat\b\.?|ft\b\.?|featuring\b|with\b|w/|\+)\s*", re.IGNORECASE)
_FEAT_TAIL = re.compile(r"\s+(?:feat\.?|ft\.?|featuring)\s+(.+)$", re.IGNORECASE)
_TRAILING_REMIX = re.compile(r"^(.+\S)\s+(remix|rmx)$", re.IGNORECASE)
_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9"}
_PART_WORDS = frozenset({"pt", "part", "vol", "volume", "chapter", "no", "number", "movement"})


_BRACKET = re.compile(r"[()\[\]{}]")


def _group_spans(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The text outside top-level brackets, and the span in ``text`` of the inside of each group (nested
    groups kept inside; the group's opener is just before its span)."""
    if not _BRACKET.search(text):
        return text, []
    outside: list[str] = []
    groups: list[tuple[int, int]] = []
    closers: list[str] = []
    start = 0  # where the current stretch of outside text, or of the current group, begins
    for m in _BRACKET.finditer(text):
        ch, at = m.group(), m.start()
        if ch in _OPEN:
            if not closers:
                outside.append(text[start:at])
                outside.append(" ")
                start = at + 1
            closers.append(_OPEN[ch])
        elif closers and ch == closers[-1]:
            closers.pop()
            if not closers:
                groups.append((start, at))
                start = at + 1
        elif not closers:  # a stray closer
            outside.append(text[start:at])
            outside.append(" ")
            start = at + 1
    if closers:  # an unclosed group: what follows its opener is the group
        groups.append((start, len(text)))
    else:
        outside.append(text[start:])
    return "".join(outside), groups


# Words that carry no identity in a version segment ("Album Version", "Bonus Track", "Official Video").
_NOISE = frozenset(
    [
        "album",
        "single",
        "main",
        "original",
        "lp",
        "ep",
        "bonus",
        "track",
        "deluxe",
        "edition",
        "expanded",
        "anniversary",
        "special",
        "collectors",
        "mono",
        "stereo",
        "version",
        "versao",
        "digital",
        "exclusive",
        "amazon",
        "itunes",
        "spotify",
        "official",
        "oficial",
        "officiel",
        "audio",
        "video",
        "music",
        "lyric",
        "lyrics",
        "visualizer",
        "visualiser",
        "hd",
        "hq",
        "4k",
        "clip",
        "videoclip",
        "mv",
        "full",
        "explicit",
        "clean",
        "edited",
        "censored",
        "dirty",
        "uncensored",
        "amended",
        "th",
        "st",
        "nd",
        "rd",
        "and",
        "the",
        "of",
        "a",
        "45",
        "7",
        "inch",
    ]
)
_COSMETIC_MIX = frozenset(
    {"original", "album", "main", "single", "stereo", "mono", "radio", "vocal", "short"}
)
# Words that never name a remixer, a venue or a version.
_DESCRIPTOR_STOP = _NOISE | frozenset(
    [
        "remix",
        "rmx",
        "remixed",
        "mix",
        "edit",
        "radio",
        "short",
        "extended",
        "club",
        "live",
        "at",
        "from",
        "in",
        "on",
        "recorded",
        "acoustic",
        "session",
        "sessions",
        "performance",
        "by",
        "feat",
        "ft",
    ]
)
# A segment of only these words may carry the explicit or video marker ("Clean Radio Edit").
_FLAG_CONTEXT = _NOISE | {"radio", "edit", "mix", "short"}
# Every keyword of a version segment, found in one pass (the first alternative that fits wins: "radio mix" is
# a radio edit before "mix" is looked at).
_KEYWORDS = re.compile(
    r"\b(?:"
    r"(?P<remaster>remaster\w*)"
    r"|(?P<live>live|en vivo|ao vivo|en directo|en concierto|en public|in concert)"
    r"|(?P<acoustic>acoustic|unplugged|acustico|acustica|acoustique|akustik|akustisch)"
    r"|(?P<instrumental>instrumental)"
    r"|(?P<karaoke>karaoke|originally performed)"
    r"|(?P<cover>cover|tribute)"
    r"|(?P<sped_up>sped up|speed up|spedup|nightcore)"
    r"|(?P<slowed>slowed)"
    r"|(?P<demo>demo)"
    r"|(?P<rerecorded>taylors version|rerecorded|re recorded|rerecording|re recording|rerecord)"
    r"|(?P<extended>extended|long version|longer version|(?<!\d)12 (?:inch|version|mix))"
    r"|(?P<radio>radio edit|radio version|single edit|radio mix|short edit|short version|video edit)"
    r"|(?P<remix>remix|rmx|remixed|mixed|rework|reworked|bootleg|dub|vip|refix|mashup)"
    r"|(?P<mix>mix|edit)"
    r"|(?P<explicit>explicit|dirty|uncensored)"
    r"|(?P<clean>clean|edited|censored|amended)"
    r"|(?P<video>video|videoclip|clip|visualizer|visualiser|mv)"
    r"|(?P<version>version)"
    r")\b"
)
_SIMPLE = {
    "live": VersionTag.LIVE,
    "acoustic": VersionTag.ACOUSTIC,
    "instrumental": VersionTag.INSTRUMENTAL,
    "karaoke": VersionTag.KARAOKE,
    "cover": VersionTag.COVER,
    "sped_up": VersionTag.SPED_UP,
    "slowed": VersionTag.SLOWED,
    "demo": VersionTag.DEMO,
    "rerecorded": VersionTag.RERECORDED,
    "extended": VersionTag.EXTENDED,
    "remaster": VersionTag.REMASTER,
}
# Versions whose words name them (a remixer, "Spanish Version"): a search keeps the whole segment.
_NAMED = frozenset({VersionTag.REMIX, VersionTag.ALTERNATE, VersionTag.RERECORDED})


@dataclass(slots=True)
class _Reading:
    tags: set[VersionTag]
    descriptors: dict[VersionTag, str]
    featured: list[str]
    subtitles: list[str]
    search_words: list[str]
    remaster_year: int | None = None
    explicit: bool | None = None
    video: bool = False
    # The display side (TitleReading): the same parts as written, kept only when asked for (parse_title,
    # on the matcher's path, does not pay for them).
    as_written: bool = True
    shown_featured: list[str] = field(default_factory=list)
    shown_descriptors: dict[VersionTag, str] = field(default_factory=dict)
    shown_subtitles: list[str] = field(default_factory=list)


def _describe(into: _Reading, tag: VersionTag, text: str, shown: str) -> None:
    """Add to what distinguishes this version ("Shelter (Mix Cut) - Yoel Lewis Remix": "cut yoel lewis"),
    folded (``text``) and as written (``shown``)."""
    known = into.descriptors.get(tag)
    into.descriptors[tag] = f"{known} {text}".strip() if known else text
    known_shown = into.shown_descriptors.get(tag)
    into.shown_descriptors[tag] = f"{known_shown} {shown}".strip() if known_shown else shown


def _descriptor(words: list[str]) -> str:
    return " ".join(w for w in words if w not in _DESCRIPTOR_STOP and not _YEAR.fullmatch(w))


def _shown_descriptor(outer: str) -> str:
    """:func:`_descriptor` as written: from the first to the last word that names something ("Live at the
    O2, London 2009": "O2, London"; "Dimitri Vegas & Like Mike Remix": "Dimitri Vegas & Like Mike")."""
    words = outer.split()
    named = [i for i, word in enumerate(words) if _descriptor(normalise(word).split())]
    return " ".join(words[named[0] : named[-1] + 1]).strip(",;:/-") if named else ""


def _classify(raw: str, into: _Reading, opener: str = "") -> None:
    """Sort one bracketed group (``opener`` is its opening bracket) or dashed segment (``opener`` is "")
    and its nested groups, each on their own."""
    outer, spans = _group_spans(raw)
    for start, end in spans:
        _classify(raw[start:end], into, raw[start - 1])
    if not outer.strip():
        return
    lead = _FEAT_LEAD.match(outer)
    if lead:  # "feat. X", "with X", "+ X"; "Feat. X; Continuous Mix" goes on after the semicolon
        names, _, rest = outer[lead.end() :].partition(";")
        into.featured.extend(artist_readings((names,))[0])
        if into.as_written:
            into.shown_featured.extend(_shown_names(names))
        if rest.strip():
            _classify(rest, into, opener)
        return
    text = normalise(outer)
    if not text:
        return
    words = text.split()
    matches = list(_KEYWORDS.finditer(text))
    hits = {m.lastgroup for m in matches}
    found = _versions(text, words, hits, into, outer) if hits else set()
    marker = _NOISE.issuperset(words)  # "[Explicit]", "(Official Video)", "Album Version", "Bonus Track"
    if marker or _FLAG_CONTEXT.issuperset(words):  # not "Dirty South Remix", "Clean Up Your Mind"
        if "explicit" in hits:
            into.explicit = True
        elif "clean" in hits:
            into.explicit = False
        if "video" in hits and "edit" not in words:
            into.video = True
    if found:
        into.tags |= found
        if found & _NAMED:  # the remixer, the named version: the song's identity, in its own script
            into.search_words.append(" ".join(outer.split()))
        else:
            # The version's own words, as written ("ao vivo", "unplugged"), not the venue or the date.
            into.search_words.extend(
                dict.fromkeys(
                    m.group() for m in matches if _SIMPLE.get(m.lastgroup or "") in DIFFERENT_RECORDING
                )
            )
        return
    if marker or "mix" in hits or "radio" in hits or words[0] in ("from", "prod", "produced"):
        return  # noise, "Original Mix", a soundtrack's name ("From 'Frozen'"), a producer
    if _only_years(words):
        return  # "(2011)"
    into.subtitles.append(text)
    shown = " ".join(outer.split())
    into.search_words.append(shown)
    into.shown_subtitles.append(f" {opener}{shown}{_OPEN[opener]}" if opener else f" - {shown}")


def _shown_names(credit: str) -> list[str]:
    """A featured credit's names as written; "Feat. X" inside it is no second featuring."""
    names = credit_names(credit)
    return [*names.main, *names.featured]


def _versions(
    text: str, words: list[str], hits: set[str | None], into: _Reading, outer: str
) -> set[VersionTag]:
    found = {_SIMPLE[h] for h in hits if h in _SIMPLE}
    shown = _shown_descriptor(outer) if into.as_written else ""
    if VersionTag.REMASTER in found:
        year = _YEAR.search(text)
        into.remaster_year = into.remaster_year or (int(year.group(1)) if year else None)
    if VersionTag.LIVE in found:
        _describe(into, VersionTag.LIVE, _descriptor(words), shown)
    if "remix" in hits:
        found.add(VersionTag.REMIX)
        _describe(into, VersionTag.REMIX, _descriptor(words), shown)
    elif "mix" in hits or "radio" in hits:  # "<who> Mix", "<who> Edit", a radio edit, "Original Mix"
        named = {
            w
            for w in words
            if w not in _COSMETIC_MIX
            and w not in ("mix", "edit", "version", "extended", "video", "remaster", "remastered")
            and not _YEAR.fullmatch(w)
        }
        if named:  # "Cold Blank Mix", "Hardwell Edit", "Club Mix"
            found.add(VersionTag.REMIX)
            _describe(into, VersionTag.REMIX, _descriptor(words), shown)
        elif "radio" in hits or ("edit" in words and VersionTag.EXTENDED not in found):
            found.add(VersionTag.RADIO_EDIT)
    if not found and "version" in hits:
        if named_version := _descriptor(words):  # "Spanish Version", "Piano Version"
            found.add(VersionTag.ALTERNATE)
            _describe(into, VersionTag.ALTERNATE, named_version, shown)
        elif year := _YEAR.search(text):  # "(2012 Version)": a new recording of an old song
            found.add(VersionTag.RERECORDED)
            _describe(into, VersionTag.RERECORDED, year.group(1), year.group(1))
    return found


def _only_years(words: list[str]) -> bool:
    return all(_YEAR.fullmatch(w) for w in words)


def _numbers(base: str) -> frozenset[str]:
    if not _NUMBERISH.search(base):
        return _NO_NUMBERS
    words = base.split()
    out = set()
    for i, w in enumerate(words):
        if w.isdigit():  # ASCII digits (normalise folds): "007" is 7; no int(), which refuses 4,300 digits
            out.add(w.lstrip("0") or "0")
        elif i and words[i - 1] in _PART_WORDS and w in _ROMAN:
            out.add(_ROMAN[w])
    return frozenset(out)


# A title without any of these is its own base: no brackets, no spaced dash, no featuring, no trailing remix.
_SPECIAL = re.compile(r"[()\[\]{}\u2013\u2014]|\s-\s|feat|\bft\b|remix|rmx")  # on the lower-cased title
_NUMBERISH = re.compile(r"\d|\b(?:pt|part|vol|volume|chapter|no|number|movement) [ivx]+\b")
_NOTHING: frozenset[VersionTag] = frozenset()
_NO_NUMBERS: frozenset[str] = frozenset()


@lru_cache(maxsize=65_536)
def parse_title(title: str) -> ParsedTitle:
    """Take a title apart (see the module's documentation). Pure and cached on the string."""
    return _read(title, as_written=False).parsed


def read_title(title: str) -> TitleReading:
    """Take a title apart as :func:`parse_title` does, keeping each part's text as written beside the folded
    reading (for display). Pure; not cached (the matcher needs only :func:`parse_title`)."""
    return _read(title, as_written=True)


def _read(title: str, as_written: bool) -> TitleReading:
    """The reading behind both; without ``as_written`` the display parts are left empty."""
    if not _SPECIAL.search(title.lower()):  # most titles: the fast path
        base = normalise(title)
        shown = " ".join(title.split())
        parsed = ParsedTitle(
            base=base,
            subtitle="",
            featured=(),
            tags=_NOTHING,
            descriptors=(),
            remaster_year=None,
            explicit=None,
            video=False,
            numbers=_numbers(base),
            search_title=shown,
        )
        return TitleReading(parsed=parsed, name=shown, subtitles=(), featured=(), descriptors=())
    outside, spans = _group_spans(title)
    into = _Reading(
        tags=set(), descriptors={}, featured=[], subtitles=[], search_words=[], as_written=as_written
    )
    head, *segments = _DASH.split(outside)
    if not head.strip() and segments:  # "- Song": a leading dash
        head, *segments = segments
    for segment in segments:
        if _FROM.match(segment):  # "- From 13 Reasons Why, Season 2 Soundtrack": the rest is its name
            break
        _classify(segment, into)
    for start, end in spans:
        _classify(title[start:end], into, title[start - 1])
    lowered = head.lower()
    if ("feat" in lowered or "ft" in lowered) and (tail := _FEAT_TAIL.search(head)):
        into.featured.extend(artist_readings((tail.group(1),))[0])
        if as_written:
            into.shown_featured.extend(_shown_names(tail.group(1)))
        head = head[: tail.start()]
    # "We Dem Boyz Remix": a remix named outside brackets
    if ("remix" in lowered or "rmx" in lowered) and (trailing := _TRAILING_REMIX.match(head.strip())):
        into.tags.add(VersionTag.REMIX)
        _describe(into, VersionTag.REMIX, "", "")
        into.search_words.append(trailing.group(2))
        head = trailing.group(1)
    base = normalise(head) or normalise(title)
    name = " ".join(head.split())
    display = name or title.strip()
    search_title = " ".join([display, *into.search_words])
    parsed = ParsedTitle(
        base=base,
        subtitle=" ".join(into.subtitles),
        featured=tuple(dict.fromkeys(into.featured)),
        tags=frozenset(into.tags),
        descriptors=tuple(sorted(into.descriptors.items())),
        remaster_year=into.remaster_year,
        explicit=into.explicit,
        video=into.video,
        numbers=_numbers(base),
        search_title=search_title,
    )
    return TitleReading(
        parsed=parsed,
        name=name,
        subtitles=tuple(into.shown_subtitles),
        featured=tuple(into.shown_featured),
        descriptors=tuple(sorted(into.shown_descriptors.items())),
    )


_FROM = re.compile(r"\s*from\s", re.IGNORECASE)
# An album part (the whole name, or a bracketed, dashed or colon-separated part) that says "live".
_ALBUM_PART = re.compile(r"[()\[\]{}:]|\s[-\u2013\u2014]\s")
_ALBUM_LIVE = re.compile(
    r"^(?:live|unplugged|in concert|en vivo|ao vivo)$|^live (?:at|in|from|on|aus|au|en)\b|^mtv unplugged\b"
)


@lru_cache(maxsize=32_768)
def album_tags(album: str) -> frozenset[VersionTag]:
    """Versions an album's name implies for every track on it: a live album ("Caught in the Act: Live",
    "Live at Wembley", "MTV Unplugged") holds live recordings even when a track's title does not say so;
    a karaoke album holds karaoke versions."""
    lowered = album.casefold()
    tags: set[VersionTag] = set()
    maybe_live = "live" in lowered or "unplugged" in lowered or "concert" in lowered or "vivo" in lowered
    if maybe_live and any(_ALBUM_LIVE.match(normalise(part)) for part in _ALBUM_PART.split(album)):
        tags.add(VersionTag.LIVE)
    if "karaoke" in lowered and "karaoke" in normalise(album).split():
        tags.add(VersionTag.KARAOKE)
    return frozenset(tags)


def search_terms(source: TrackInfo) -> SearchTerms:
    """The provider search query for a track: its title without featured artists, remaster years,
    radio-edit markers and bracketed noise (version words like "live", "remix" and the remixer kept: they
    are the song's identity), and its first (main) artist, both in their original script.

    A YouTube video titled ``"Artist - Song (Official Video)"`` whose dashed head names the track's
    artist (its channel) is read as that artist's "Song"."""
    head, rest = artist_dash_title(source.title, source.artists)
    if rest is not None:
        return SearchTerms(title=parse_title(rest).search_title, artist=head)
    return SearchTerms(title=parse_title(source.title).search_title, artist=_main_artist(source.artists))


def artist_dash_title(title: str, artists: tuple[str, ...]) -> tuple[str, str | None]:
    """``("Artist", "Song (Official Video)")`` when ``title`` reads "Artist - Song ..." and its head names
    one of ``artists`` (YouTube's convention); ``(title, None)`` otherwise."""
    head, sep, rest = title.partition(" - ")
    if sep and rest.strip() and head.strip() and _names_artist(head, artists):
        return head.strip(), rest
    return title, None


_MAIN_SPLIT = re.compile(r"\s*(?:,|;|/|\s&\s|\s(?:feat\.?|ft\.?|featuring|x|vs\.?)\s)\s*", re.IGNORECASE)
_CHANNEL = re.compile(r"(?:\s+-\s+Topic|VEVO)$")


def _main_artist(artists: tuple[str, ...]) -> str:
    for raw in artists:
        first = _CHANNEL.sub("", _MAIN_SPLIT.split(raw.strip())[0]).strip()
        if first:
            return first
    return ""


@lru_cache(maxsize=32_768)
def _names_artist(head: str, artists: tuple[str, ...]) -> bool:
    split, whole = artist_readings((head,))
    theirs_split, theirs_whole = artist_readings(artists)
    if not split or not theirs_split:
        return False
    return max(credit_similarity(split, theirs_split), credit_similarity(whole, theirs_whole)) >= 0.85
