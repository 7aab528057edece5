"""`make demo`, the newcomer's tour, runs through against the stack and shows every step."""

from __future__ import annotations

import asyncio

from pm_devstack import demo
from pm_devstack.stack import Stack


async def test_the_tour_links_imports_dry_runs_applies_and_shows_the_result(stack: Stack):
    lines: list[str] = []
    code = await asyncio.to_thread(demo.run, stack, lines.append)
    assert code == 0, "\n".join(lines)
    steps = [line.split(".")[0] for line in lines if line[:1].isdigit()]
    assert steps == ["1", "2", "3", "4", "5", "6", "7"], lines
    created = [line for line in lines if line.strip().startswith("deezer playlist ")]
    assert len(created) == len(demo.PLAYLISTS), lines
    assert any("written, read back and verified" in line for line in lines)
