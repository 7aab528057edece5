"""Where entries sit in storage (pure): spaced sort keys, so that an edit writes only what it places.

An entry's position is its rank among the playlist's sort keys. Entries that keep their relative order
keep their keys (those in the longest run the diff keeps in place); each run of entries placed anew
(added, or moved) takes keys evenly spread between its neighbours' keys. Only when a gap has no room
left are all keys dealt again, SPACING apart: one full rewrite after about log2(SPACING) inserts at
one spot.
"""

from __future__ import annotations

from collections.abc import Sequence

SPACING = 1 << 20


def dealt(count: int) -> list[int]:
    """Keys for a whole list, SPACING apart."""
    return [(i + 1) * SPACING for i in range(count)]


def place(kept: Sequence[int | None]) -> list[int] | None:
    """Keys for a new list where ``kept[i]`` is the key entry i keeps (increasing along the list) or None
    for an entry placed anew; None when some gap is too small for the entries going into it."""
    keys: list[int] = []
    i = 0
    while i < len(kept):
        if kept[i] is not None:
            keys.append(kept[i])  # type: ignore[arg-type]  # checked on the line above
            i += 1
            continue
        run_end = i
        while run_end < len(kept) and kept[run_end] is None:
            run_end += 1
        run = run_end - i
        low = keys[-1] if keys else None
        high = kept[run_end] if run_end < len(kept) else None
        if low is None and high is None:
            keys += dealt(run)
        elif low is None:
            keys += [high - SPACING * (run - j) for j in range(run)]  # type: ignore[operator]
        elif high is None:
            keys += [low + SPACING * (j + 1) for j in range(run)]
        else:
            step = (high - low) // (run + 1)
            if step < 1:
                return None
            keys += [low + step * (j + 1) for j in range(run)]
        i = run_end
    return keys
