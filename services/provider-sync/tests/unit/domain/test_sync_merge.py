"""The two-way sync merge: concrete cases and the properties every merge keeps."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pm_provider_sync.domain.sync_merge import Conflict, Merge, Side, numbered, three_way

# ---------------------------------------------------------------------------------------------- strategies

BASES = st.lists(st.integers(0, 15), unique=True, max_size=12).map(lambda ns: [f"b{n}" for n in ns])
# New keys are drawn from a small shared pool so that both sides sometimes add the same one.
NEW_KEYS = st.lists(st.integers(0, 6), unique=True, max_size=4).map(lambda ns: [f"n{n}" for n in ns])


@st.composite
def edited(draw: st.DrawFn, base: Sequence[str]) -> list[str]:
    """``base`` after random removals, moves and insertions of new keys."""
    out = [k for k in base if draw(st.booleans()) or draw(st.booleans())]  # about a quarter removed
    for _ in range(draw(st.integers(0, 3))):
        if not out:
            break
        key = out.pop(draw(st.integers(0, len(out) - 1)))
        out.insert(draw(st.integers(0, len(out))), key)
    for key in draw(NEW_KEYS):
        out.insert(draw(st.integers(0, len(out))), key)
    return out


@st.composite
def triples(draw: st.DrawFn) -> tuple[list[str], list[str], list[str]]:
    base = draw(BASES)
    return base, draw(edited(base)), draw(edited(base))


@st.composite
def pairs(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    base = draw(BASES)
    return base, draw(edited(base))


PROPERTY = settings(max_examples=300, deadline=None)


# ---------------------------------------------------------------------------------------------- properties


@PROPERTY
@given(triples())
def test_membership_and_no_repeats(t: tuple[list[str], list[str], list[str]]) -> None:
    base, a, b = t
    m = three_way(base, a, b)
    assert len(set(m.merged)) == len(m.merged)
    in_base = set(base)
    expected = {k for k in base if k in a and k in b} | (set(a) - in_base) | (set(b) - in_base)
    assert set(m.merged) == expected


@PROPERTY
@given(pairs())
def test_one_side_unchanged_gives_the_other(p: tuple[list[str], list[str]]) -> None:
    base, side = p
    assert three_way(base, base, side).merged == tuple(side)
    assert three_way(base, side, base).merged == tuple(side)
    assert three_way(base, side, side).merged == tuple(side)
    assert three_way(base, side, side).conflicts == ()


@PROPERTY
@given(triples())
def test_idempotent(t: tuple[list[str], list[str], list[str]]) -> None:
    merged = three_way(*t).merged
    again = three_way(merged, merged, merged)
    assert again.merged == merged
    assert again.conflicts == ()


@PROPERTY
@given(triples())
def test_an_addition_follows_its_predecessor(t: tuple[list[str], list[str], list[str]]) -> None:
    base, a, b = t
    m = three_way(base, a, b)
    where = {k: i for i, k in enumerate(m.merged)}
    moved = set(m.moved[Side.A]) | set(m.moved[Side.B])
    for side, keys in ((Side.A, a), (Side.B, b)):
        for i, key in enumerate(keys):
            if key not in m.added[side] or i == 0:
                continue
            before = keys[i - 1]
            if before in where and before not in moved:
                assert where[before] < where[key]


@PROPERTY
@given(triples())
def test_unmoved_keys_keep_base_order(t: tuple[list[str], list[str], list[str]]) -> None:
    base, a, b = t
    m = three_way(base, a, b)
    moved = set(m.moved[Side.A]) | set(m.moved[Side.B])
    in_base = set(base)
    unmoved = [k for k in m.merged if k in in_base and k not in moved]
    assert unmoved == [k for k in base if k in set(unmoved)]


@PROPERTY
@given(triples())
def test_report_matches_the_lists(t: tuple[list[str], list[str], list[str]]) -> None:
    base, a, b = t
    m = three_way(base, a, b)
    in_base = set(base)
    assert m.added[Side.A] == tuple(k for k in a if k not in in_base)
    assert m.added[Side.B] == tuple(k for k in b if k not in in_base and k not in a)
    assert m.removed[Side.A] == tuple(k for k in base if k not in a)
    assert m.removed[Side.B] == tuple(k for k in base if k not in b)
    for c in m.conflicts:
        if c.kind == "remove-move":
            assert c.key not in m.merged
        else:
            assert c.key in m.moved[Side.A] and c.key in m.moved[Side.B]


# ---------------------------------------------------------------------------------------------- examples


def test_added_on_a_removed_on_b() -> None:
    m = three_way(["x", "y", "z"], ["x", "n", "y", "z"], ["x", "z"])
    assert m.merged == ("x", "n", "z")
    assert m.added == {Side.A: ("n",), Side.B: ()}
    assert m.removed == {Side.A: (), Side.B: ("y",)}
    assert m.moved == {Side.A: (), Side.B: ()}
    assert m.conflicts == ()


def test_both_add_at_the_same_spot_a_first() -> None:
    m = three_way(["x", "y"], ["x", "p", "q", "y"], ["x", "r", "y"])
    assert m.merged == ("x", "p", "q", "r", "y")
    assert m.conflicts == ()


def test_same_key_added_on_both_counts_once_under_a() -> None:
    m = three_way(["x", "y"], ["n", "x", "y"], ["x", "y", "n"])
    assert m.merged == ("n", "x", "y")
    assert m.added == {Side.A: ("n",), Side.B: ()}


def test_move_move_conflict_a_wins() -> None:
    base = ["x", "y", "z", "w", "v"]
    a = ["y", "z", "x", "w", "v"]  # x after z
    b = ["y", "z", "w", "v", "x"]  # x to the end
    m = three_way(base, a, b)
    assert m.merged == tuple(a)
    assert m.moved == {Side.A: ("x",), Side.B: ("x",)}
    assert m.conflicts == (
        Conflict(
            "x", "move-move", "Side A moved 'x' after 'z' and side B moved it after 'v'; side A's place wins."
        ),
    )


def test_move_to_the_start_is_named_so() -> None:
    m = three_way(["x", "y", "z"], ["z", "x", "y"], ["x", "z", "y"])
    assert m.merged == ("z", "x", "y")
    assert [c.message for c in m.conflicts] == [
        "Side A moved 'z' to the start and side B moved it after 'x'; side A's place wins."
    ]


def test_moved_to_the_same_place_on_both_is_no_conflict() -> None:
    base = ["x", "y", "z", "w"]
    m = three_way(base, ["y", "z", "x", "w"], ["y", "z", "x", "w", "n"])
    assert m.merged == ("y", "z", "x", "w", "n")
    assert m.conflicts == ()


def test_moves_on_both_sides_of_different_keys() -> None:
    base = ["p", "q", "r", "s", "t"]
    m = three_way(base, ["q", "r", "p", "s", "t"], ["p", "q", "r", "t", "s"])
    assert m.merged == ("q", "r", "p", "t", "s")
    assert m.conflicts == ()


def test_remove_move_conflict_removal_wins() -> None:
    m = three_way(["x", "y", "z", "w"], ["x", "z", "w"], ["x", "z", "w", "y"])
    assert m.merged == ("x", "z", "w")
    assert m.removed[Side.A] == ("y",)
    assert m.moved[Side.B] == ("y",)
    assert m.conflicts == (
        Conflict("y", "remove-move", "Side A removed 'y' and side B moved it; the removal wins."),
    )


def test_numbered() -> None:
    assert numbered([]) == []
    assert numbered(["x", "y", "x", "x", "y"]) == ["x", "y", "x#2", "x#3", "y#2"]


def test_repeats_via_numbered() -> None:
    base = numbered(["x", "y", "x"])
    a = numbered(["x", "y"])  # the second x removed
    b = numbered(["x", "y", "x", "x"])  # a third x added
    m = three_way(base, a, b)
    assert m.merged == ("x", "y", "x#3")
    assert m.removed[Side.A] == ("x#2",)
    assert m.added[Side.B] == ("x#3",)


def test_repeated_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="numbered"):
        three_way([], ["x", "x"], [])


def test_first_sync_is_the_union_a_first() -> None:
    assert three_way([], ["x", "y"], ["p", "q"]).merged == ("x", "y", "p", "q")
    m = three_way([], ["x", "y"], ["y", "z", "x"])
    assert m.merged == ("x", "y", "z")
    assert m.added == {Side.A: ("x", "y"), Side.B: ("z",)}
    assert three_way([], [], []) == Merge(
        (), {Side.A: (), Side.B: ()}, {Side.A: (), Side.B: ()}, {Side.A: (), Side.B: ()}, ()
    )


def _edit(base: list[str], rng: random.Random, side: str, changes: int) -> list[str]:
    out = list(base)
    for i in range(changes):
        kind = i % 3
        if kind == 0:
            out.pop(rng.randrange(len(out)))
        elif kind == 1:
            out.insert(rng.randrange(len(out) + 1), out.pop(rng.randrange(len(out))))
        else:
            out.insert(rng.randrange(len(out) + 1), f"{side}{i}")
    return out


def test_long_lists() -> None:
    rng = random.Random(7)
    base = [f"t{i}" for i in range(5000)]
    a, b = _edit(base, rng, "a", 100), _edit(base, rng, "b", 100)
    m = three_way(base, a, b)
    in_base = set(base)
    assert set(m.merged) == {k for k in base if k in a and k in b} | (set(a) - in_base) | (set(b) - in_base)
    assert len(m.merged) == len(set(m.merged))
    # A run of 5,000 additions is a chain 5,000 deep: placing it must not recurse.
    fresh = [f"n{i}" for i in range(5000)]
    assert three_way([], fresh, []).merged == tuple(fresh)
