"""Planning playlist edits in the fewest provider calls (pure).

- :func:`plan_moves`: from the current order to a target order, moving only the entries outside a
  longest increasing subsequence, each run of consecutive moved entries placed before one anchor.
- :func:`spotify_range_moves` / :func:`single_item_moves`: those moves as Spotify range moves or
  YouTube one-item position updates (indexes computed on a simulated list).
- :func:`plan_replace`: from the current entries to a target list of track ids: which entries to
  remove, how the kept ones are ordered, where new ones are inserted.
- :func:`plan_prepend_order`: Deezer's ``order=`` (listed ids move to the front) as the fewest calls.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pm_providers.domain.batching import chunks

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Move(Generic[K]):
    """Put ``keys`` (in this order) right before ``before``; ``None`` means at the end."""

    keys: tuple[K, ...]
    before: K | None


@dataclass(frozen=True, slots=True)
class RangeMove:
    """Spotify's reorder: ``range_length`` entries from ``range_start`` before ``insert_before``
    (indexes of the list before the move)."""

    range_start: int
    range_length: int
    insert_before: int


@dataclass(frozen=True, slots=True)
class PositionMove(Generic[K]):
    """YouTube's update: ``key`` ends at ``position`` of the resulting list."""

    key: K
    position: int


def longest_increasing(seq: Sequence[int], *, end_at_last: bool = False) -> set[int]:
    """Indexes of a longest strictly increasing subsequence of ``seq`` (O(n log n)).

    With ``end_at_last`` the subsequence is the longest one that ends with the last element.
    """
    if not seq:
        return set()
    tails: list[int] = []  # values
    tail_idx: list[int] = []  # their indexes in seq
    prev = [-1] * len(seq)
    for i, v in enumerate(seq):
        p = bisect_left(tails, v)
        prev[i] = tail_idx[p - 1] if p > 0 else -1
        if p == len(tails):
            tails.append(v)
            tail_idx.append(i)
        else:
            tails[p] = v
            tail_idx[p] = i
    i = len(seq) - 1 if end_at_last else tail_idx[-1]
    out: set[int] = set()
    while i != -1:
        out.add(i)
        i = prev[i]
    return out


def plan_moves(
    current: Sequence[K], target: Sequence[K], *, max_batch: int | None = None, end_anchor: bool = False
) -> list[Move[K]]:
    """Moves turning ``current`` into ``target`` (a permutation of unique keys).

    Entries of a longest increasing subsequence stay; every other run of consecutive target entries
    is moved, in batches of ``max_batch``, before the entry that follows it in ``target``. With
    ``end_anchor`` the last target entry always stays, so no move needs "at the end" (TIDAL has only
    ``positionBefore``). Applying the moves in any order gives ``target``.
    """
    if len(current) != len(target) or set(current) != set(target) or len(set(current)) != len(current):
        raise ValueError("target must be a permutation of current with unique keys")
    if list(current) == list(target):
        return []
    where = {k: i for i, k in enumerate(current)}
    stay = longest_increasing([where[k] for k in target], end_at_last=end_anchor)
    moves: list[Move[K]] = []
    run: list[K] = []
    for i, key in enumerate(target):
        if i not in stay:
            run.append(key)
            continue
        if run:
            moves += [Move(tuple(c), key) for c in chunks(run, max_batch or len(run))]
            run = []
    if run:
        moves += [Move(tuple(c), None) for c in chunks(run, max_batch or len(run))]
    return moves


def apply_moves(items: Sequence[K], moves: Sequence[Move[K]]) -> list[K]:
    out = list(items)
    for move in moves:
        moving = set(move.keys)
        rest = [k for k in out if k not in moving]
        at = len(rest) if move.before is None else rest.index(move.before)
        out = rest[:at] + list(move.keys) + rest[at:]
    return out


def spotify_range_moves(current: Sequence[K], moves: Sequence[Move[K]]) -> list[RangeMove]:
    """Each move as Spotify range moves: one per stretch of its keys adjacent and in order."""
    sim = list(current)
    out: list[RangeMove] = []
    for move in moves:
        index = {k: i for i, k in enumerate(sim)}
        segments: list[list[K]] = []
        for key in move.keys:
            if segments and index[key] == index[segments[-1][-1]] + 1:
                segments[-1].append(key)
            else:
                segments.append([key])
        for seg in segments:
            index = {k: i for i, k in enumerate(sim)}
            start = index[seg[0]]
            before = len(sim) if move.before is None else index[move.before]
            out.append(RangeMove(start, len(seg), before))
            sim = apply_moves(sim, [Move(tuple(seg), move.before)])
    return out


def single_item_moves(current: Sequence[K], moves: Sequence[Move[K]]) -> list[PositionMove[K]]:
    """Each moved key as one update to an absolute position of the resulting list (YouTube)."""
    sim = list(current)
    out: list[PositionMove[K]] = []
    for move in moves:
        for key in move.keys:
            sim.remove(key)
            at = len(sim) if move.before is None else sim.index(move.before)
            sim.insert(at, key)
            out.append(PositionMove(key, at))
    return out


@dataclass(frozen=True, slots=True)
class Insert:
    """New track ids placed so the first lands at ``index`` of the final list; ``before``: the index
    (into the current entries) of the kept entry they go before, None at the end."""

    index: int
    ids: tuple[str, ...]
    before: int | None


@dataclass(frozen=True, slots=True)
class ReplacePlan:
    remove: tuple[int, ...]  # indexes into current, ascending
    keep_order: tuple[int, ...]  # indexes into current of the kept entries, in target order
    inserts: tuple[Insert, ...]  # in target order; apply after removals and the reorder

    @property
    def kept_in_current_order(self) -> tuple[int, ...]:
        return tuple(sorted(self.keep_order))


def plan_replace(current: Sequence[str | None], target: Sequence[str]) -> ReplacePlan:
    """Edits from ``current`` track ids (None: an entry that cannot be matched) to ``target``.

    The n-th occurrence of a track in ``target`` keeps the n-th occurrence in ``current`` (so
    added-at dates survive); unmatched current entries are removed and unmatched target ids inserted.
    """
    occurrences: dict[str, deque[int]] = defaultdict(deque)
    for i, tid in enumerate(current):
        if tid is not None:
            occurrences[tid].append(i)
    matched: list[int | None] = []
    for tid in target:
        queue = occurrences.get(tid)
        matched.append(queue.popleft() if queue else None)
    kept = {i for i in matched if i is not None}
    remove = tuple(i for i in range(len(current)) if i not in kept)
    keep_order = tuple(i for i in matched if i is not None)
    inserts: list[Insert] = []
    run: list[str] = []
    start = 0
    for j, (tid, m) in enumerate(zip(target, matched, strict=True)):
        if m is None:
            if not run:
                start = j
            run.append(tid)
        elif run:
            inserts.append(Insert(start, tuple(run), m))
            run = []
    if run:
        inserts.append(Insert(start, tuple(run), None))
    return ReplacePlan(remove, keep_order, tuple(inserts))


def plan_prepend_order(current: Sequence[str], target: Sequence[str], *, batch: int) -> list[list[str]]:
    """Deezer's ``order=``: each call moves the listed ids, in order, to the front.

    The longest suffix of ``target`` already in order in ``current`` stays; the rest is sent in
    batches, last batch first. Returns the batches in the order to send them (none when in order).
    """
    if len(current) != len(target) or set(current) != set(target):
        raise ValueError("target must be a permutation of current")
    where = {k: i for i, k in enumerate(current)}
    k = len(target)
    while k > 0 and (k == len(target) or where[target[k - 1]] < where[target[k]]):
        k -= 1
    prefix = list(target[:k])
    return list(reversed(list(chunks(prefix, batch))))
