"""Spooled items sent as the parts of the library's events (usecases/rendering.spooled_parts): every item
once, in order, the first file's before the next's, no part over its item or byte budget."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from pm_contracts.library import MAX_ENTRIES_PER_PART
from pm_export.usecases.rendering import MAX_PART_BYTES, Spooled, spooled_parts


class Item(BaseModel):
    n: int
    text: str = ""


def spool(path: Path, items: list[Item]) -> Spooled:
    path.write_text("".join(item.model_dump_json() + "\n" for item in items), encoding="utf-8")
    return Spooled(path, Item)


def test_nothing_spooled_is_one_empty_part(tmp_path: Path) -> None:
    assert list(spooled_parts([spool(tmp_path / "a", []), spool(tmp_path / "b", [])])) == [(1, 1, [[], []])]


def test_parts_hold_at_most_their_count_in_order_across_files(tmp_path: Path) -> None:
    first = [Item(n=i) for i in range(MAX_ENTRIES_PER_PART + 5)]
    second = [Item(n=-i) for i in range(MAX_ENTRIES_PER_PART)]
    parts = list(spooled_parts([spool(tmp_path / "a", first), spool(tmp_path / "b", second)]))
    assert [(part, total) for part, total, _ in parts] == [(1, 3), (2, 3), (3, 3)]
    assert [len(a) + len(b) for _, _, (a, b) in parts] == [MAX_ENTRIES_PER_PART, MAX_ENTRIES_PER_PART, 5]
    assert [x for _, _, (a, _) in parts for x in a] == first
    assert [x for _, _, (_, b) in parts for x in b] == second


def test_large_items_make_smaller_parts(tmp_path: Path) -> None:
    big = [Item(n=i, text="x" * 5_000) for i in range(600)]
    parts = list(spooled_parts([spool(tmp_path / "a", big)]))
    sizes = [sum(len(x.model_dump_json()) + 1 for x in items) for _, _, [items] in parts]
    assert len(parts) == 4 and all(size <= MAX_PART_BYTES for size in sizes)
    assert [x for _, _, [items] in parts for x in items] == big
