"""Sync, the pure part: what a link request says, the keys a run compares the two ends by, what each
end should hold after a run (by the link's direction), the removal brake, and the ids each end is
written with.

**Keys.** A run compares the ends per track identity, never per position. A track of end *a* and a track
of end *b* that the link has paired (matched once, ``sync_pairs``) share the key ``p:<b id>``; a track
the link has not paired yet is ``a:<a id>`` or ``b:<b id>``. Repeats of one track on an end are numbered
(``p:x``, ``p:x#2``...: :func:`~pm_provider_sync.domain.sync_merge.numbered`). An entry without a
provider id (a local file) takes no part: the run neither copies nor moves it.

**Directions.**

- ``mirror`` (a → b): b ends holding exactly a's tracks in a's order (b's own additions go);
- ``add_only`` (a → b): b gains the tracks added to a since the last run, at its end, in a's order;
  nothing is removed from b, and a track b's owner removed after it was synced is not added back;
- ``two_way``: both ends end holding the three-way merge of what each did since the last run
  (:func:`~pm_provider_sync.domain.sync_merge.three_way`: additions of either side kept, a removal on
  one side removes on both, moves kept, a conflicting move decided for end a and reported).

A track that could not be found on the other end stays on its own end only and is reported.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, model_validator

from pm_contracts.providers import ProviderName
from pm_matching import TrackInfo, Verdict, decide, normalise, search_terms
from pm_platform.api import LenientProvider, RequestBody
from pm_provider_sync.domain.sync_merge import Conflict, numbered, three_way
from pm_provider_sync.domain.transfers import candidate_info
from pm_providers.models import ProviderTrack

SYNC_RUN_JOB = "sync.run"
SYNC_UNDO_JOB = "sync.undo"
Direction = Literal["add_only", "mirror", "two_way"]
DIRECTIONS: tuple[Direction, ...] = ("add_only", "mirror", "two_way")
# Links one user keeps at most (the list is one page).
MAX_LINKS = 100
MAX_ID = 200
# Scheduled runs: every 15 minutes at most often, once a week at least often.
MIN_EVERY_MINUTES = 15
MAX_EVERY_MINUTES = 7 * 24 * 60
DEFAULT_MAX_REMOVAL_SHARE = 0.2
# A track a run looked for on the other end and did not find is not looked for again by that link's
# runs for this long (a provider's catalog grows).
MISS_TTL = timedelta(days=7)


# The end ``provider`` of a playlist of the user's library (its ``playlist_id``: the library's id).
LIBRARY = "library"


class EndSpec(RequestBody):
    """A playlist on a linked provider, or of the user's library (``provider`` ``library``)."""

    provider: LenientProvider | Literal["library"]
    playlist_id: str = Field(min_length=1, max_length=MAX_ID, pattern=r"^[^\x00-\x1f]+$")

    @model_validator(mode="after")
    def _library_id(self) -> EndSpec:
        if self.provider == LIBRARY:
            try:
                self.playlist_id = str(uuid.UUID(self.playlist_id))
            except ValueError:
                raise ValueError("a library playlist's id is a UUID") from None
        return self

    @property
    def name(self) -> str:
        """The provider's name, or ``library``."""
        return LIBRARY if self.provider == LIBRARY else ProviderName(self.provider).value


class LinkRequest(RequestBody):
    """``POST /api/v1/sync``: the two ends, the direction, the schedule (``every_minutes``; null or
    absent: by hand only) and the removal brake's share."""

    a: EndSpec
    b: EndSpec
    direction: Direction = "mirror"
    every_minutes: int | None = Field(default=None, ge=MIN_EVERY_MINUTES, le=MAX_EVERY_MINUTES)
    max_removal_share: float = Field(default=DEFAULT_MAX_REMOVAL_SHARE, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _two_playlists(self) -> LinkRequest:
        if (self.a.provider, self.a.playlist_id) == (self.b.provider, self.b.playlist_id):
            raise ValueError("a and b are the same playlist: a link joins two")
        if self.a.provider == LIBRARY and self.b.provider == LIBRARY:
            raise ValueError(
                "a link joins a library playlist with a provider's playlist, not two of the library"
            )
        return self


class LinkChange(RequestBody):
    """``PATCH /api/v1/sync/{id}``: what is given changes (``every_minutes`` null: by hand only)."""

    direction: Direction | None = None
    every_minutes: int | None = Field(default=None, ge=MIN_EVERY_MINUTES, le=MAX_EVERY_MINUTES)
    max_removal_share: float | None = Field(default=None, ge=0.0, le=1.0)
    paused: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> LinkChange:
        if not self.model_fields_set:
            raise ValueError("nothing to change: give direction, every_minutes, max_removal_share or paused")
        for name in ("direction", "max_removal_share", "paused"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


# ---- keys ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairs:
    """The tracks of end a and end b the link holds to be the same song: a id → b id."""

    a_to_b: Mapping[str, str]

    @cached_property
    def paired_b(self) -> frozenset[str]:
        return frozenset(self.a_to_b.values())

    def a_key(self, a_id: str) -> str:
        b_id = self.a_to_b.get(a_id)
        return f"p:{b_id}" if b_id is not None else f"a:{a_id}"

    def b_key(self, b_id: str) -> str:
        return f"p:{b_id}" if b_id in self.paired_b else f"b:{b_id}"


def end_keys(ids: Sequence[str | None], pairs: Pairs, side: Literal["a", "b"]) -> list[str]:
    """The keys of an end's entries that have an id, in order, repeats numbered."""
    key = pairs.a_key if side == "a" else pairs.b_key
    return numbered([key(i) for i in ids if i is not None])


def track_of(key: str) -> tuple[str, str]:
    """``(kind, id)`` of a key: kind ``p`` (paired: the b id), ``a`` or ``b``; the repeat number dropped."""
    kind, _, rest = key.partition(":")
    # No provider's track ids (base62, digits, YouTube's [A-Za-z0-9_-]) hold a '#'.
    ident, sep, number = rest.rpartition("#")
    return kind, ident if sep and number.isdigit() else rest


# ---- what each end should hold -------------------------------------------------------------------------


@dataclass(frozen=True)
class EndPlan:
    current: tuple[str, ...]
    desired: tuple[str, ...]

    @property
    def added(self) -> tuple[str, ...]:
        now = set(self.current)
        return tuple(k for k in self.desired if k not in now)

    @property
    def removed(self) -> tuple[str, ...]:
        wanted = set(self.desired)
        return tuple(k for k in self.current if k not in wanted)

    @property
    def changed(self) -> bool:
        return self.current != self.desired


@dataclass(frozen=True)
class RunPlan:
    a: EndPlan
    b: EndPlan
    conflicts: tuple[Conflict, ...]
    # Keys that cannot go to the other end (never found there): (the end that has it, key).
    unmatched: tuple[tuple[Literal["a", "b"], str], ...]
    # The state both ends will share: the next run's base.
    base: tuple[str, ...]


def plan_run(
    direction: Direction,
    base: Sequence[str] | None,
    a: Sequence[str],
    b: Sequence[str],
    single: Collection[str] = (),
) -> RunPlan:
    """What each end should hold after the run. Keys of one end not paired with the other end (``a:``
    on b, ``b:`` on a) cannot be written there: they are left out of it and reported ``unmatched``. An
    end named in ``single`` holds a track once (Deezer): repeats are left out of what it should hold."""
    conflicts: tuple[Conflict, ...] = ()
    if direction == "mirror":
        want_a, want_b = list(a), list(a)
    elif direction == "add_only":
        known = set(base or ()) | set(b)
        want_a, want_b = list(a), list(b) + [k for k in a if k not in known]
    else:
        # A first run has no base: the songs both ends hold are the common ground, in b's order, so a's
        # order of them wins and each end's own songs stay next to their neighbours.
        common = set(a)
        merge = three_way(base if base is not None else [k for k in b if k in common], a, b)
        want_a, want_b = list(merge.merged), list(merge.merged)
        conflicts = merge.conflicts
    unmatched: tuple[tuple[Literal["a", "b"], str], ...] = tuple(
        ("a", k) for k in want_b if k.startswith("a:")
    ) + tuple(("b", k) for k in want_a if k.startswith("b:"))
    want_b = [k for k in want_b if not k.startswith("a:") and not ("b" in single and _repeat(k))]
    want_a = [k for k in want_a if not k.startswith("b:") and not ("a" in single and _repeat(k))]
    on_b = set(want_b)
    if direction == "add_only":
        # a's tracks synced once (b's owner may have removed them since: they are not added back).
        known_before = set(base or ())
        next_base = tuple(k for k in a if k in known_before or k in on_b)
    else:
        next_base = tuple(k for k in want_a if k in on_b)
    return RunPlan(
        a=EndPlan(tuple(a), tuple(want_a)),
        b=EndPlan(tuple(b), tuple(want_b)),
        conflicts=conflicts,
        unmatched=unmatched,
        base=next_base,
    )


def _repeat(key: str) -> bool:
    """The second or later entry of one track on an end (:func:`numbered` marked it)."""
    return "#" in key


def over_brake(end: EndPlan, share: float) -> bool:
    """Whether the run would remove more than ``share`` of what the end holds (the removal brake)."""
    removed = len(end.removed)
    return removed > 0 and removed > share * len(end.current)


def written_ids(
    keys: Sequence[str],
    side: Literal["a", "b"],
    held: Sequence[str | None],
    pairs: Pairs,
    b_to_a: Mapping[str, str],
) -> list[str]:
    """The provider ids an end is written with. A key the end holds already keeps the id it has there (an
    end may hold one song under several ids); a new paired key is its b id on end b and its a id on end
    a; an unpaired key is its own id."""
    own = dict(zip(end_keys(held, pairs, side), [i for i in held if i is not None], strict=True))
    ids = []
    for key in keys:
        if key in own:
            ids.append(own[key])
            continue
        kind, ident = track_of(key)
        ids.append(b_to_a[ident] if side == "a" and kind == "p" else ident)
    return ids


def with_locals(desired: Sequence[str], current: Sequence[str | None]) -> list[str | None]:
    """``desired`` with the end's entries that have no id (local files) put back at their places: a
    provider cannot write them, so the write keeps them where they are."""
    out: list[str | None] = list(desired)
    for index, ident in enumerate(current):
        if ident is None:
            out.insert(min(index, len(out)), None)
    return out


def id_changes(before: Sequence[str | None], after: Sequence[str | None], moved: int) -> dict[str, Any]:
    """What a run (all its attempts) or an undo did to one end: the tracks it gained and lost, and the
    entries its last attempt moved."""
    had, has = Counter(i for i in before if i), Counter(i for i in after if i)
    added, removed = list((has - had).elements()), list((had - has).elements())
    return {
        "added": len(added),
        "removed": len(removed),
        "moved": moved,
        "added_ids": added,
        "removed_ids": removed,
    }


def local_matches(sources: Sequence[ProviderTrack], candidates: Sequence[ProviderTrack]) -> dict[str, str]:
    """Tracks of one end that the other end holds already (as its own tracks): source id → candidate id,
    each candidate taken once. Looked for among the candidates with the same ISRC or the same cleaned
    title, and decided by the matcher as a search result would be: a run pairs what is already there
    instead of adding it a second time (the same song under another id on the target, a re-release)."""
    by_isrc: dict[str, list[int]] = {}
    by_title: dict[str, list[int]] = {}
    infos = [candidate_info(c) for c in candidates]
    for index, info in enumerate(infos):
        if info.isrc:
            by_isrc.setdefault(info.isrc.strip().upper(), []).append(index)
        by_title.setdefault(_title_key(info), []).append(index)
    taken: set[int] = set()
    found: dict[str, str] = {}
    for source in sources:
        if source.id is None or source.id in found:
            continue
        info = candidate_info(source)
        isrc = (info.isrc or "").strip().upper()
        hits = [i for i in by_isrc.get(isrc, []) if i not in taken] if isrc else []
        near = [i for i in by_title.get(_title_key(info), []) if i not in taken and i not in hits]
        pool = hits + near
        if not pool:
            continue
        decision = decide(info, [infos[i] for i in pool], isrc_hits=range(len(hits)))
        best = decision.chosen
        if best is None and decision.verdict is Verdict.REVIEW and decision.ranked[0][0] < len(hits):
            # Held there already under the same ISRC and close (a duration a few seconds apart, say):
            # that entry is the song; adding it again would make a second.
            best = decision.ranked[0][0]
        if best is not None:
            chosen = pool[best]
            taken.add(chosen)
            found[source.id] = candidates[chosen].id or ""
    return {k: v for k, v in found.items() if v}


def _title_key(info: TrackInfo) -> str:
    return normalise(search_terms(info).title)


def restored_ids(
    before: Sequence[str | None], after: Sequence[str | None], now: Sequence[str | None]
) -> list[str]:
    """What an undo writes to one end: the three-way merge of the end as the run left it (``after``, the
    base), as it is ``now`` (the owner's edits since: side a, whose moves win) and as the run found it
    (``before``: the way back). The run's own additions go, its removals come back, the owner's later
    additions and removals stay."""
    merge = three_way(
        numbered([i for i in after if i is not None]),
        numbered([i for i in now if i is not None]),
        numbered([i for i in before if i is not None]),
    )
    return [key.rpartition("#")[0] if _numbered(key) else key for key in merge.merged]


def _numbered(key: str) -> bool:
    head, sep, number = key.rpartition("#")
    return bool(sep and head and number.isdigit())
