"""Clustering the tracks the system has seen into canonical recordings (issue 20; docs/catalog.md,
"Clustering (domain)"). Pure, no I/O.

Two tracks are one recording by one of three rules, tried in order (:func:`same_recording`):

- ``same-id``: the same provider and provider track id;
- ``isrc``: the same ISRC, and the matcher accepts the pair with that ISRC as evidence (pm_matching lifts
  an ISRC-equal pair only when version, title and artists (``ISRC_COMPATIBLE``) and duration agree: a bad
  ISRC on another song joins nothing);
- ``metadata``: the matcher accepts the pair on title, artists, version and duration alone, and their
  ISRCs do not conflict (one side has none). Two different ISRCs could be one recording re-released, but
  measured against the emulator's truth a matcher "accept" across two ISRCs was nearly always a second
  recording of one name and length (a radio mix, a remaster, another master a few seconds longer):
  allowing it even for identical readings within 2 s brought precision down to 97.6% from 99.3%
  (docs/catalog.md), so two ISRCs conflict, as they do for the catalog's merge.

:func:`cluster` unions the pairs these rules accept, found through blocking indexes (ISRC, folded title)
rather than by comparing every pair, and refuses a union that would chain two tracks the rules keep
apart: two version signatures (live and studio, remix and original) or one version named two ways (two
remixers, each joined to an unnamed "Remix") in one cluster, or two clusters whose ISRCs disagree joined
by a track without one (the catalog's merge rule: docs/catalog.md).
Every cluster keeps the joins that made it, so "which rule joined these two ids" is answerable.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations
from typing import Literal

from pm_enrichment.domain.catalog import normalised_isrc
from pm_matching import (
    DIFFERENT_RECORDING,
    Score,
    TrackInfo,
    Verdict,
    VersionTag,
    normalise,
    parse_title,
    score,
    search_terms,
)
from pm_matching.scoring import exactness
from pm_matching.titles import album_tags

RuleName = Literal["same-id", "isrc", "metadata"]
# The rules' order: a candidate pair is judged by the first that applies, and joins are made strongest
# first so that which joins a guard refuses does not depend on the input's order.
RULE_ORDER: dict[RuleName, int] = {"same-id": 0, "isrc": 1, "metadata": 2}
# A blocking key shared by more tracks than this ("Intro", "Home") is split by main artist, so that one
# common title cannot make the pair count quadratic.
MAX_BLOCK = 64
# Durations this close count as one when ranking joins (pm_matching's decide() uses the same 2 s).
SAME_LENGTH_S = 2.0

VersionSignature = frozenset[VersionTag]
# Pairs of track keys an operator split apart (docs/catalog.md, "Splitting a recording"): never one
# recording again.
Apart = frozenset[frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class SeenTrack:
    """A track as some provider described it. ``isrc`` is kept normalised (domain/catalog.py), None
    when it is no ISRC."""

    provider: str
    provider_track_id: str
    title: str
    artists: tuple[str, ...]
    album: str | None = None
    duration_ms: int | None = None
    isrc: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "isrc", normalised_isrc(self.isrc))

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.provider_track_id)

    @cached_property
    def info(self) -> TrackInfo:
        """The track as the matcher reads it. A YouTube upload may be a music video, whose intro and outro
        make it longer than the recording: the matcher gives a video that leeway."""
        return TrackInfo(
            title=self.title,
            artists=self.artists,
            album=self.album,
            duration_ms=self.duration_ms,
            isrc=self.isrc,
            video=self.provider == "youtube",
        )

    @cached_property
    def version(self) -> VersionSignature:
        """The versions that make this another recording than the original (live, remix...), as the
        matcher compares them: the title's and those its album implies (a live album)."""
        tags = parse_title(self.title).tags & DIFFERENT_RECORDING
        if self.album:
            tags |= album_tags(self.album)
        return frozenset(tags)

    @cached_property
    def named_versions(self) -> dict[VersionTag, str]:
        """What names each of its versions where the title says (folded): the remixer, the venue, the named
        version ("tiesto", "wembley", "spanish"). An unnamed "Remix" names nothing."""
        return {
            tag: text
            for tag, text in parse_title(self.title).descriptors
            if text and tag in DIFFERENT_RECORDING
        }

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_track_id}"


@dataclass(frozen=True)
class JoinRule:
    """Why two tracks are one recording: the rule's stable ``name`` (for the join log), the matcher's
    confidence (1.0 for ``same-id``) and its reasons in words."""

    name: RuleName
    confidence: float
    reason: str


@dataclass(frozen=True)
class Join:
    """Two tracks joined directly, and the rule that joined them."""

    a: SeenTrack
    b: SeenTrack
    rule: JoinRule


@dataclass(frozen=True)
class Cluster:
    """One canonical recording: its tracks (in input order) and the joins that connect them (a spanning
    tree: ``len(joins) == len(members) - 1``)."""

    members: tuple[SeenTrack, ...]
    joins: tuple[Join, ...]

    def explain(self, a: SeenTrack, b: SeenTrack) -> list[Join]:
        """The joins that connect ``a`` to ``b`` in this cluster, in path order ([] when a is b, or when
        either is not a member)."""
        neighbours: dict[tuple[str, str], list[tuple[tuple[str, str], Join]]] = defaultdict(list)
        for join in self.joins:
            neighbours[join.a.key].append((join.b.key, join))
            neighbours[join.b.key].append((join.a.key, join))
        came: dict[tuple[str, str], tuple[tuple[str, str], Join] | None] = {a.key: None}
        frontier = [a.key]
        while frontier and b.key not in came:
            nxt = []
            for key in frontier:
                for other, join in neighbours[key]:
                    if other not in came:
                        came[other] = (key, join)
                        nxt.append(other)
            frontier = nxt
        if b.key not in came or a.key == b.key:
            return []
        path: list[Join] = []
        step = came[b.key]
        while step is not None:
            previous, join = step
            path.append(join)
            step = came[previous]
        return path[::-1]


def different_versions(a: SeenTrack, b: SeenTrack) -> bool:
    """Whether the two tracks are different versions of a song, never one recording whatever else they
    share: different version signatures (live and studio, a remix and the original, an acoustic and an
    electric take), or one kind of version named differently (two remixers, two venues). An unnamed
    "Remix" does not conflict with a named one; two of them can, which is what the chaining guard of
    :func:`cluster` checks."""
    return a.version != b.version or _names_conflict(a.named_versions, b.named_versions)


def _names_conflict(a: dict[VersionTag, str], b: dict[VersionTag, str]) -> bool:
    return any(b.get(tag, text) != text for tag, text in a.items())


def _ordered(a: SeenTrack, b: SeenTrack) -> tuple[SeenTrack, SeenTrack]:
    """The pair in one fixed order: the matcher's score is nearly, not exactly, symmetric, and the answer
    must not depend on which track is named first."""
    return (a, b) if a.key <= b.key else (b, a)


def _accepted(result: Score) -> bool:
    return result.verdict is Verdict.ACCEPT


def same_recording(a: SeenTrack, b: SeenTrack) -> JoinRule | None:
    """The first rule by which ``a`` and ``b`` are one recording, or None. Symmetric and pure; costs at
    most one matcher score (docs/matching.md: about 30 µs once both titles are parsed)."""
    if a.key == b.key:
        return JoinRule("same-id", 1.0, "the same provider track id")
    if different_versions(a, b):
        return None
    if a.isrc and b.isrc and a.isrc != b.isrc:
        return None  # two ISRCs: measured, nearly always two recordings of one name (module docstring)
    first, second = _ordered(a, b)
    result = score(first.info, second.info)
    if not _accepted(result):
        return None
    reasons = "; ".join(result.reasons)
    if a.isrc and a.isrc == b.isrc:
        # Accepted with an equal ISRC: the matcher lifted the pair (ISRC_COMPATIBLE) or found it alike
        # enough without the ISRC. Either way the ISRC is the evidence named.
        return JoinRule("isrc", result.confidence, reasons)
    return JoinRule("metadata", result.confidence, reasons)


def _gap(a: SeenTrack, b: SeenTrack) -> float:
    """Seconds between the durations as they are (a video's leeway not taken off: among recordings a video
    fits equally, the one of its own length), within SAME_LENGTH_S counting as none; inf when unknown."""
    if a.duration_ms is None or b.duration_ms is None:
        return float("inf")
    seconds = abs(a.duration_ms - b.duration_ms) / 1000
    return 0.0 if seconds <= SAME_LENGTH_S else seconds


def block_keys(track: SeenTrack) -> set[str]:
    """The folded titles under which a track is filed: what search_terms would search for (featured
    artists, remaster and edit markers and noise off; a YouTube "Artist - Song" read as "Song"), and the
    title's own base reading."""
    keys = {normalise(search_terms(track.info).title), parse_title(track.title).base}
    _, sep, rest = track.title.partition(" - ")
    if sep and rest:  # "Artist - Song" from a channel that is not the artist (a label's upload)
        keys.add(parse_title(rest).base)
    keys.discard("")
    if not keys:
        # A title of symbols only ("@", "+", "…") folds to nothing: filed under itself as written (case
        # and spacing aside), or it could never meet its twin on another service.
        written = " ".join(track.title.split()).casefold()
        if written:
            keys.add(f"={written}")
    return keys


def main_artist_key(track: SeenTrack) -> str:
    return normalise(search_terms(track.info).artist)


def candidate_pairs(tracks: Sequence[SeenTrack]) -> set[tuple[int, int]]:
    """Index pairs worth comparing: tracks sharing an ISRC, a provider id, or a folded title (a title
    shared by more than MAX_BLOCK tracks: and its main artist). Each pair once, lower index first."""
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, track in enumerate(tracks):
        blocks[("id", f"{track.provider}\x00{track.provider_track_id}")].append(index)
        if track.isrc:
            blocks[("isrc", track.isrc)].append(index)
        for key in block_keys(track):
            blocks[("title", key)].append(index)
    pairs: set[tuple[int, int]] = set()
    for (kind, _), members in blocks.items():
        if kind == "title" and len(members) > MAX_BLOCK:
            by_artist: dict[str, list[int]] = defaultdict(list)
            for index in members:
                by_artist[main_artist_key(tracks[index])].append(index)
            groups: Iterable[list[int]] = by_artist.values()
        else:
            groups = (members,)
        for group in groups:
            pairs.update(combinations(sorted(set(group)), 2))
    return pairs


class _Clusters:
    """Union-find over track indexes, each root holding what the guards check: its version signatures,
    the names of its versions, and its ISRCs."""

    def __init__(self, tracks: Sequence[SeenTrack], apart: Apart = frozenset()) -> None:
        self.parent = list(range(len(tracks)))
        self.size = [1] * len(tracks)
        self.versions: list[set[VersionSignature]] = [{t.version} for t in tracks]
        self.named: list[dict[VersionTag, str]] = [dict(t.named_versions) for t in tracks]
        self.isrcs: list[set[str]] = [{t.isrc} if t.isrc else set() for t in tracks]
        # Only with an operator's splits in play: each cluster's track keys, to find a pair kept apart.
        self.apart = apart
        self.keys: list[set[tuple[str, str]]] = [{t.key} for t in tracks] if apart else []

    def find(self, index: int) -> int:
        root = index
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[index] != root:
            self.parent[index], index = root, self.parent[index]
        return root

    def refusal(self, ra: int, rb: int) -> str | None:
        """Why the clusters rooted at ``ra`` and ``rb`` must not become one, or None."""
        if len(self.versions[ra] | self.versions[rb]) > 1:
            return "two versions (e.g. live and studio) would be in one recording"
        if _names_conflict(self.named[ra], self.named[rb]):
            return "one version named two ways (e.g. two remixers) would be in one recording"
        isrcs_a, isrcs_b = self.isrcs[ra], self.isrcs[rb]
        if isrcs_a and isrcs_b and not isrcs_a & isrcs_b:
            return "the recordings' ISRCs disagree"
        if self.apart and any(frozenset((a, b)) in self.apart for a in self.keys[ra] for b in self.keys[rb]):
            return "an operator split these tracks apart"
        return None

    def union(self, ra: int, rb: int) -> None:
        small, large = sorted((ra, rb), key=lambda r: self.size[r])
        self.parent[small] = large
        self.size[large] += self.size[small]
        self.versions[large] |= self.versions[small]
        self.named[large].update(self.named[small])
        self.isrcs[large] |= self.isrcs[small]
        if self.apart:
            self.keys[large] |= self.keys[small]


def _accepted_joins(
    tracks: Sequence[SeenTrack], pairs: Iterable[tuple[int, int]]
) -> list[tuple[int, int, JoinRule]]:
    """The candidate pairs :func:`same_recording` accepts, in the order they are to be joined: strongest
    rule first, then the most literal agreement, the highest confidence and the closest durations, then
    the ids (so the order never depends on the input's)."""
    accepted: list[
        tuple[tuple[int, int, float, float, tuple[str, str], tuple[str, str]], int, int, JoinRule]
    ] = []
    for i, j in pairs:
        a, b = tracks[i], tracks[j]
        rule = same_recording(a, b)
        if rule is not None:
            first, second = _ordered(a, b)
            # Among accepted pairs, the most literal agreement first (the title read the same way, the
            # same artists, album), as decide() breaks its ties: a track that fits two recordings of one
            # name ("Pony", "Pony (Single Version)") joins the one it spells like.
            literal = exactness(first.info, second.info)
            order = (RULE_ORDER[rule.name], -literal, -rule.confidence, _gap(a, b), first.key, second.key)
            accepted.append((order, i, j, rule))
    accepted.sort(key=lambda item: item[0])
    return [(i, j, rule) for _, i, j, rule in accepted]


def cluster(tracks: Sequence[SeenTrack]) -> list[Cluster]:
    """Group ``tracks`` into recordings: every track is in exactly one cluster (duplicates of one provider
    id in one), and the partition does not depend on the input's order. Clusters come in order of their
    first member, members in input order.

    Candidate pairs come from :func:`candidate_pairs`; each accepted by :func:`same_recording` is joined,
    strongest rule first, then the most literal agreement, the highest confidence and the closest
    durations, unless the union would put two version signatures, one version named two ways, or two
    disagreeing ISRC sets in one cluster (the chaining guard). Pure; about n log n in practice (one
    matcher score per candidate pair)."""
    clusters = _Clusters(tracks)
    joins: list[Join] = []
    for i, j, rule in _accepted_joins(tracks, candidate_pairs(tracks)):
        ra, rb = clusters.find(i), clusters.find(j)
        if ra == rb or clusters.refusal(ra, rb) is not None:
            continue
        clusters.union(ra, rb)
        joins.append(Join(*_ordered(tracks[i], tracks[j]), rule))
    members: dict[int, list[SeenTrack]] = defaultdict(list)
    for index, track in enumerate(tracks):
        members[clusters.find(index)].append(track)
    joins_of: dict[int, list[Join]] = defaultdict(list)
    root_of = {track.key: clusters.find(index) for index, track in enumerate(tracks)}
    for join in joins:
        joins_of[root_of[join.a.key]].append(join)
    return [Cluster(tuple(group), tuple(joins_of[root])) for root, group in members.items()]


# ---- placing new tracks among stored recordings --------------------------------------------------------


@dataclass(frozen=True)
class StoredRecording:
    """A recording the catalog holds, as placing needs it: its described tracks, and every ISRC it holds
    (those of tracks nobody described too: a transfer's match brings ids without descriptions)."""

    id: uuid.UUID
    members: tuple[SeenTrack, ...]
    isrcs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Refusal:
    """A pair the rules accept but the chaining guard keeps apart, and why."""

    a: SeenTrack
    b: SeenTrack
    rule: JoinRule
    reason: str


@dataclass(frozen=True)
class Placement:
    """What placing does to one recording-to-be.

    ``recordings``: the stored recordings that are one from now on (none: ``new`` make a recording of
    their own; one: ``new`` attach to it; several: they are merged, and ``new`` attach to the result).
    ``new``: tracks on no recording before. ``joins``: the joins made now (a spanning forest over the
    stored recordings and the new tracks, each stored recording counted as one node)."""

    recordings: tuple[uuid.UUID, ...]
    new: tuple[SeenTrack, ...]
    joins: tuple[Join, ...]


@dataclass(frozen=True)
class Placing:
    placements: tuple[Placement, ...]
    refusals: tuple[Refusal, ...]


def place(
    active: Sequence[SeenTrack], stored: Sequence[StoredRecording], apart: Apart = frozenset()
) -> Placing:
    """Place the ``active`` tracks (described for the first time, or described anew) among the
    ``stored`` recordings: those the active tracks are on, and those they may be (found by the caller
    through the blocking keys). The rules and guard are :func:`cluster`'s; a stored recording is kept
    whole, as if its tracks were joined already, and is never split (only an operator splits). Only
    pairs with an active track are compared (others were compared when they were placed), so an active
    track may make a recording of its own, attach to one, or bridge two into one (a merge) when the
    guard allows it — and never puts together a pair in ``apart`` (an operator's split). Every active
    track on no stored recording is in exactly one placement; a stored recording is in one only when
    something joins it. Pure; the outcome does not depend on the inputs' order."""
    # A recording no import described (a transfer's match names ids, not what they are) has nothing to
    # compare: it takes no part.
    known = sorted((r for r in stored if r.members), key=lambda r: r.id.bytes)
    on_stored = {m.key for r in known for m in r.members}
    unique: dict[tuple[str, str], SeenTrack] = {}
    for track in active:
        unique.setdefault(track.key, track)
    moving = set(unique)
    fresh = sorted((t for t in unique.values() if t.key not in on_stored), key=lambda t: t.key)
    tracks: list[SeenTrack] = list(fresh)
    owner: list[int | None] = [None] * len(fresh)  # index in ``known`` of a stored track's recording
    for index, recording in enumerate(known):
        for member in recording.members:
            tracks.append(unique.get(member.key, member))  # an active track as described now
            owner.append(index)
    clusters = _Clusters(tracks, apart)
    first_of: dict[int, int] = {}
    for position, recording_index in enumerate(owner):
        if recording_index is None:
            continue
        head = first_of.setdefault(recording_index, position)
        if head != position:
            clusters.union(clusters.find(head), clusters.find(position))
    # The guard sees every ISRC a stored recording holds, its undescribed tracks' too.
    for recording_index, head in first_of.items():
        clusters.isrcs[clusters.find(head)] |= known[recording_index].isrcs

    pairs = [(i, j) for i, j in candidate_pairs(tracks) if tracks[i].key in moving or tracks[j].key in moving]
    joins: list[tuple[int, int, JoinRule]] = []
    refusals: list[Refusal] = []
    for i, j, rule in _accepted_joins(tracks, pairs):
        ra, rb = clusters.find(i), clusters.find(j)
        if ra == rb:
            continue
        reason = clusters.refusal(ra, rb)
        if reason is not None:
            refusals.append(Refusal(*_ordered(tracks[i], tracks[j]), rule, reason))
            continue
        clusters.union(ra, rb)
        joins.append((i, j, rule))

    groups: dict[int, tuple[set[int], list[SeenTrack], list[Join]]] = {}

    def group(root: int) -> tuple[set[int], list[SeenTrack], list[Join]]:
        return groups.setdefault(root, (set(), [], []))

    for position, track in enumerate(fresh):
        group(clusters.find(position))[1].append(track)
    for i, j, rule in joins:
        entry = group(clusters.find(i))
        entry[2].append(Join(*_ordered(tracks[i], tracks[j]), rule))
        entry[0].update(r for r in (owner[i], owner[j]) if r is not None)
    placements = [
        Placement(tuple(known[r].id for r in sorted(recordings)), tuple(members), tuple(made))
        for recordings, members, made in groups.values()
        if members or len(recordings) > 1
    ]
    placements.sort(key=lambda p: (p.new[0].key if p.new else ("", ""), [r.bytes for r in p.recordings]))
    return Placing(tuple(placements), tuple(refusals))
