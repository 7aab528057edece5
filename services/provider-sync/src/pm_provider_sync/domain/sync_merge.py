"""A two-way sync, the pure part: a three-way merge of two playlists against the last synced state.

The two sides are A (the link's first end) and B. ``base`` is the list both had after the last sync.
Entries are compared by key, never by position: a key names one entry of one track, and keys are unique
within each list (:func:`numbered` turns a list of track ids that may repeat into such keys). The merged
list is the same for both sides.

1. Membership. A key that was in base stays only if both sides still have it: removed on one side means
   removed on both. A key that was not in base (an addition) is kept if either side has it: an addition
   is never lost, and the same key added on both sides is kept once (and counted as A's addition).
2. Removed on one side, moved on the other: the removal wins, and the merge reports a ``remove-move``
   conflict.
3. What a side moved: of the base keys that side still has, the ones whose order relative to the others
   changed, that is the ones outside a longest common subsequence of base and that side's list (both
   restricted to the base keys that side still has). The subsequence is chosen deterministically, so the
   same lists always give the same moves.
4. Order. The kept base keys start in their base order. Then B's moves are applied, then A's: each key a
   side moved is taken out and put right after its nearest predecessor in that side's list that is kept
   and that this side did not move (or first if there is none); keys that side moved after the same
   predecessor keep that side's order. Because A's moves come last, a key both sides moved ends where A
   put it; if the two sides put it after different predecessors the merge reports a ``move-move``
   conflict (after the same predecessor: no conflict). A key B moved right after a key that A then
   moved stays where B's move put it among the other keys, it does not follow. Keys neither side moved
   keep their base order.
   Then the additions: each added key goes right after its nearest predecessor in its own side's list
   that is in the merge (which may be an addition placed before it, so a run of additions stays together
   and in order), or at the start if there is none. When A and B both add after the same key (or both
   at the start), A's run comes first, with everything placed after it, then B's run.

So if one side changed nothing, the merge is exactly the other side's list; if both sides made the same
changes, it is that list; merging a list with itself gives it back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from pm_providers.domain.reorder import longest_increasing


class Side(StrEnum):
    """The two ends of a sync link; A is the link's first end and wins conflicting moves."""

    A = "a"
    B = "b"


def numbered(ids: Sequence[str]) -> list[str]:
    """Keys for a list of track identities that may repeat: the first 'x' stays 'x', the second becomes
    'x#2', the third 'x#3' ... (so each key is unique and stable as long as the order of repeats is)."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for tid in ids:
        n = seen.get(tid, 0) + 1
        seen[tid] = n
        out.append(tid if n == 1 else f"{tid}#{n}")
    return out


@dataclass(frozen=True)
class Conflict:
    """A change one side made that the merge did not keep."""

    key: str
    kind: Literal["move-move", "remove-move"]
    message: str  # one sentence for the user: which side did what, and what won


@dataclass(frozen=True)
class Merge:
    """The merged list (the same for both sides) and what each side changed since the base."""

    merged: tuple[str, ...]
    added: Mapping[Side, tuple[str, ...]]  # not in base, in that side's order; added on both: under A
    removed: Mapping[Side, tuple[str, ...]]  # base keys that side no longer has, in base order
    moved: Mapping[Side, tuple[str, ...]]  # base keys that side moved (rule 3), in that side's order
    conflicts: tuple[Conflict, ...]


def _check_unique(name: str, keys: Sequence[str]) -> None:
    if len(set(keys)) != len(keys):
        raise ValueError(f"{name} has repeated keys; number repeats with numbered()")


def _moved(base_index: Mapping[str, int], side: Sequence[str]) -> list[str]:
    """Base keys of ``side`` outside a longest common subsequence with base (rule 3)."""
    # Keys are unique, so the LCS of the two restrictions is a longest increasing run of base indexes.
    in_base = [k for k in side if k in base_index]
    stay = longest_increasing([base_index[k] for k in in_base])
    return [k for i, k in enumerate(in_base) if i not in stay]


def _anchors(side: Sequence[str], kept: set[str], moved: set[str]) -> dict[str, str | None]:
    """For each kept key the side moved: its nearest predecessor in the side's list that is kept and
    that the side did not move (None: first)."""
    out: dict[str, str | None] = {}
    anchor: str | None = None
    for k in side:
        if k not in kept:
            continue
        if k in moved:
            out[k] = anchor
        else:
            anchor = k
    return out


def _apply_moves(order: list[str], anchors: Mapping[str, str | None]) -> list[str]:
    # ``anchors`` is in the side's list order, so keys moved after the same anchor keep that order.
    after: dict[str | None, list[str]] = {}
    for k, anchor in anchors.items():
        after.setdefault(anchor, []).append(k)
    out = list(after.get(None, ()))
    for k in order:
        if k in anchors:
            continue
        out.append(k)
        out.extend(after.get(k, ()))
    return out


def _describe(anchor: str | None) -> str:
    return "to the start" if anchor is None else f"after '{anchor}'"


def three_way(base: Sequence[str], a: Sequence[str], b: Sequence[str]) -> Merge:
    """Merge the changes A and B made since ``base`` (the rules are in the module docstring).

    Deterministic and O(n log n); raises ValueError if a list repeats a key.
    """
    _check_unique("base", base)
    _check_unique("a", a)
    _check_unique("b", b)
    base_index = {k: i for i, k in enumerate(base)}
    set_a, set_b = set(a), set(b)
    kept = [k for k in base if k in set_a and k in set_b]
    kept_set = set(kept)

    added_a = tuple(k for k in a if k not in base_index)
    added_b = tuple(k for k in b if k not in base_index and k not in set_a)
    removed_a = tuple(k for k in base if k not in set_a)
    removed_b = tuple(k for k in base if k not in set_b)
    moved_a = _moved(base_index, a)
    moved_b = _moved(base_index, b)
    anchors_a = _anchors(a, kept_set, set(moved_a))
    anchors_b = _anchors(b, kept_set, set(moved_b))

    conflicts: list[Conflict] = []
    for k in base:
        if k in anchors_a and k in anchors_b and anchors_a[k] != anchors_b[k]:
            conflicts.append(
                Conflict(
                    k,
                    "move-move",
                    f"Side A moved '{k}' {_describe(anchors_a[k])} and side B moved it "
                    f"{_describe(anchors_b[k])}; side A's place wins.",
                )
            )
    for mover, remover, moved, removed in (
        (Side.A, Side.B, moved_a, set(removed_b)),
        (Side.B, Side.A, moved_b, set(removed_a)),
    ):
        for k in moved:
            if k in removed:
                conflicts.append(
                    Conflict(
                        k,
                        "remove-move",
                        f"Side {remover.name} removed '{k}' and side {mover.name} moved it; the removal wins.",
                    )
                )
    conflicts.sort(key=lambda c: base_index[c.key])

    # B first so that A's moves, applied last, decide where a key both sides moved ends up.
    order = _apply_moves(_apply_moves(kept, anchors_b), anchors_a)
    merged = _place_additions(order, a, added_a, b, added_b)
    return Merge(
        merged=merged,
        added=MappingProxyType({Side.A: added_a, Side.B: added_b}),
        removed=MappingProxyType({Side.A: removed_a, Side.B: removed_b}),
        moved=MappingProxyType({Side.A: tuple(moved_a), Side.B: tuple(moved_b)}),
        conflicts=tuple(conflicts),
    )


def _place_additions(
    order: Sequence[str], a: Sequence[str], added_a: Sequence[str], b: Sequence[str], added_b: Sequence[str]
) -> tuple[str, ...]:
    in_merge = set(order) | set(added_a) | set(added_b)
    # Additions hang after their anchor; A's children before B's. Each side adds at most one child per
    # anchor (the next entry of its list that is in the merge), later ones chain after it.
    children: dict[str | None, list[str]] = {}
    for side, added in ((a, set(added_a)), (b, set(added_b))):
        anchor: str | None = None
        for k in side:
            if k not in in_merge:
                continue
            if k in added:
                children.setdefault(anchor, []).append(k)
            anchor = k
    out: list[str] = []
    # Iterative depth-first walk: a run of additions is a chain as long as the run.
    stack: list[str] = []
    for top in [None, *order]:
        if top is not None:
            out.append(top)
        stack.extend(reversed(children.get(top, ())))
        while stack:
            k = stack.pop()
            out.append(k)
            stack.extend(reversed(children.get(k, ())))
    return tuple(out)
