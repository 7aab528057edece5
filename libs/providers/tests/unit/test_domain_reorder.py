"""Edit planning: every plan, applied the way each provider applies it, gives the target."""

from __future__ import annotations

import random

import pytest

from pm_providers.domain.reorder import (
    Move,
    apply_moves,
    longest_increasing,
    plan_moves,
    plan_prepend_order,
    plan_replace,
    single_item_moves,
    spotify_range_moves,
)


def spotify_move(items: list[int], start: int, length: int, before: int) -> list[int]:
    """Spotify's documented reorder semantics (insert_before indexes the list before the move)."""
    block = items[start : start + length]
    rest = items[:start] + items[start + length :]
    if start <= before <= start + length:
        return items
    at = before if before < start else before - length
    return rest[:at] + block + rest[at:]


def permutations(seed: int, n: int, count: int) -> list[list[int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        p = list(range(n))
        rng.shuffle(p)
        out.append(p)
    return out


def test_longest_increasing() -> None:
    seq = [3, 1, 4, 1, 5, 9, 2, 6]
    picked = sorted(longest_increasing(seq))
    values = [seq[i] for i in picked]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert len(picked) == 4  # e.g. 1 4 5 9
    assert len(seq) - 1 in longest_increasing(seq, end_at_last=True)
    assert longest_increasing([]) == set()


def test_no_moves_when_in_order() -> None:
    assert plan_moves([1, 2, 3], [1, 2, 3]) == []


def test_one_item_to_the_front_is_one_move() -> None:
    moves = plan_moves(list(range(10)), [9, *range(9)])
    assert moves == [Move((9,), 0)]


@pytest.mark.parametrize("n", [2, 5, 40, 300])
def test_plan_moves_reaches_target(n: int) -> None:
    for target in permutations(n, n, 20):
        current = list(range(n))
        for end_anchor in (False, True):
            moves = plan_moves(current, target, max_batch=20, end_anchor=end_anchor)
            assert apply_moves(current, moves) == target
            assert all(len(m.keys) <= 20 for m in moves)
            if end_anchor:
                assert all(m.before is not None for m in moves)


def test_plan_moves_rejects_non_permutations() -> None:
    with pytest.raises(ValueError, match="permutation"):
        plan_moves([1, 2], [1, 3])
    with pytest.raises(ValueError, match="permutation"):
        plan_moves([1, 1], [1, 1])


@pytest.mark.parametrize("n", [3, 30, 200])
def test_spotify_range_moves_reach_target(n: int) -> None:
    for target in permutations(n + 1, n, 15):
        current = list(range(n))
        ranges = spotify_range_moves(current, plan_moves(current, target))
        items = list(current)
        for r in ranges:
            items = spotify_move(items, r.range_start, r.range_length, r.insert_before)
        assert items == target


def test_spotify_contiguous_block_is_one_range_move() -> None:
    current = list(range(10))
    target = [5, 6, 7, 0, 1, 2, 3, 4, 8, 9]
    ranges = spotify_range_moves(current, plan_moves(current, target))
    assert len(ranges) == 1 and ranges[0].range_length == 3


@pytest.mark.parametrize("n", [3, 50])
def test_single_item_moves_reach_target(n: int) -> None:
    for target in permutations(n + 7, n, 15):
        current = list(range(n))
        items = list(current)
        for m in single_item_moves(current, plan_moves(current, target)):
            items.remove(m.key)
            items.insert(m.position, m.key)
        assert items == target


def replay(current: list[str | None], target: list[str]) -> list[str | None]:
    plan = plan_replace(current, target)
    items = [(i, current[i]) for i in range(len(current)) if i not in set(plan.remove)]
    order = {idx: k for k, idx in enumerate(plan.keep_order)}
    items.sort(key=lambda x: order[x[0]])
    out: list[str | None] = [tid for _, tid in items]
    for ins in plan.inserts:
        out[ins.index : ins.index] = list(ins.ids)
        if ins.before is not None:  # the anchor follows the inserted run
            assert out[ins.index + len(ins.ids)] == current[ins.before]
    return out


def test_plan_replace_cases() -> None:
    assert replay(["a", "b", "c"], ["a", "b", "c"]) == ["a", "b", "c"]
    assert replay([], ["x", "y"]) == ["x", "y"]
    assert replay(["a", "b"], []) == []
    assert replay(["a", None, "b", "a"], ["a", "a", "z", "b"]) == ["a", "a", "z", "b"]
    plan = plan_replace(["a", "b", "c"], ["a", "x", "c"])
    assert plan.remove == (1,)
    assert [i.ids for i in plan.inserts] == [("x",)]


def test_plan_replace_random() -> None:
    rng = random.Random(3)
    pool = [f"t{i}" for i in range(30)]
    for _ in range(200):
        current: list[str | None] = [rng.choice(pool) for _ in range(rng.randint(0, 25))]
        target = [rng.choice(pool) for _ in range(rng.randint(0, 25))]
        assert replay(current, target) == target


def test_plan_replace_keeps_what_stays() -> None:
    plan = plan_replace(["a", "b", "c", "d"], ["d", "b", "e"])
    assert plan.remove == (0, 2)
    assert plan.keep_order == (3, 1)


def prepend(items: list[str], batch: list[str]) -> list[str]:
    return batch + [x for x in items if x not in set(batch)]


@pytest.mark.parametrize("n", [1, 7, 1200])
def test_prepend_order_reaches_target(n: int) -> None:
    for target_idx in permutations(n, n, 5):
        current = [str(i) for i in range(n)]
        target = [str(i) for i in target_idx]
        items = list(current)
        for batch in plan_prepend_order(current, target, batch=500):
            assert len(batch) <= 500
            items = prepend(items, batch)
        assert items == target


def test_prepend_order_leaves_an_ordered_tail() -> None:
    current = [str(i) for i in range(1000)]
    target = ["999", *current[:999]]
    assert plan_prepend_order(current, target, batch=500) == [["999"]]
    assert plan_prepend_order(current, current, batch=500) == []
