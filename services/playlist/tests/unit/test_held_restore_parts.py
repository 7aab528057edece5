"""A restore's parts held in the library's table read back whole, those held before restores carried
history too (a bare entry each): a restore in flight across an upgrade loses nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pm_contracts.library import RestoredEntry, RestoredTrack
from pm_playlist.usecases.restores import HeldPart

AT = datetime(2026, 12, 4, tzinfo=UTC)


def test_a_part_held_before_histories_is_a_part_of_its_entry() -> None:
    entry = RestoredEntry(entry_id=uuid.UUID(int=7), track=RestoredTrack(title="Song"), added_at=AT)
    held = HeldPart.model_validate(entry.model_dump(mode="json"))
    assert held.entries == [entry] and held.history == []
    now = HeldPart(entries=[entry], history=[])
    assert HeldPart.model_validate(now.model_dump(mode="json")) == now
