"""Spaced sort keys: entries that stay keep theirs, new ones fit between, and the order always holds."""

import itertools
import random

from pm_playlist.domain.sort_keys import SPACING, dealt, place


def _increasing(keys):
    return all(a < b for a, b in itertools.pairwise(keys))


def test_a_whole_list_is_dealt_spacing_apart():
    assert dealt(3) == [SPACING, 2 * SPACING, 3 * SPACING]


def test_kept_keys_stay_and_new_ones_go_between_before_and_after():
    keys = place([None, 10 * SPACING, None, None, 11 * SPACING, None])
    assert keys is not None and _increasing(keys)
    assert keys[1] == 10 * SPACING and keys[4] == 11 * SPACING
    assert keys[0] < 10 * SPACING and keys[5] > 11 * SPACING


def test_no_room_left_is_said_not_squeezed():
    assert place([5, None, 6]) is None
    assert place([5, None, 7]) == [5, 6, 7]


def test_random_edits_keep_the_order_until_a_gap_is_used_up():
    rng = random.Random(7)
    keys = dealt(50)
    dealt_again = 0
    for _ in range(2000):
        kept: list[int | None] = list(keys)
        for _ in range(rng.randint(1, 5)):
            kept.insert(rng.randint(0, len(kept)), None)
        if rng.random() < 0.3 and len(kept) > 10:
            del kept[rng.randrange(len(kept))]
        placed = place(kept)
        if placed is None:
            dealt_again += 1
            placed = dealt(len(kept))
        else:
            assert all(k == p for k, p in zip(kept, placed, strict=True) if k is not None)
        assert _increasing(placed) and len(placed) == len(kept)
        keys = placed
    assert dealt_again < 200  # gaps last: a rewrite of everything stays rare
