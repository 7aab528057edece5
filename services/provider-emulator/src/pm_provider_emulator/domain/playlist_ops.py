"""Ordered-list operations behind every provider's playlist edits (pure; return new lists)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class PositionError(ValueError):
    pass


def insert_at(items: Sequence[T], new: Sequence[T], position: int | None) -> list[T]:
    """Insert ``new`` before index ``position`` (``None``: append). Positions past the end are refused."""
    out = list(items)
    if position is None:
        return out + list(new)
    if position < 0 or position > len(out):
        raise PositionError(f"position {position} out of range 0..{len(out)}")
    return out[:position] + list(new) + out[position:]


def move_range(items: Sequence[T], range_start: int, range_length: int, insert_before: int) -> list[T]:
    """Spotify's reorder: move ``items[range_start:range_start+range_length]`` before ``insert_before``.

    ``insert_before`` indexes the list *before* the move, as Spotify defines it.
    """
    n = len(items)
    if range_length < 1 or range_start < 0 or range_start + range_length > n:
        raise PositionError("range out of bounds")
    if insert_before < 0 or insert_before > n:
        raise PositionError("insert_before out of bounds")
    block = list(items[range_start : range_start + range_length])
    rest = list(items[:range_start]) + list(items[range_start + range_length :])
    if range_start <= insert_before <= range_start + range_length:
        return list(items)
    target = insert_before if insert_before < range_start else insert_before - range_length
    return rest[:target] + block + rest[target:]


def move_to(items: Sequence[T], index: int, new_position: int) -> list[T]:
    """Move one element to ``new_position`` in the resulting list (YouTube's playlistItems.update)."""
    out = list(items)
    if not 0 <= index < len(out) or not 0 <= new_position < len(out):
        raise PositionError("position out of range")
    item = out.pop(index)
    out.insert(new_position, item)
    return out


def remove_indexes(items: Sequence[T], indexes: set[int]) -> list[T]:
    return [x for i, x in enumerate(items) if i not in indexes]
