"""``GET /api/v1/transfers``: the user's transfers a page at a time, newest first, through the cursor the
list gives; only transfers, only the user's; a cursor the list did not give is a 422. The jobs are made
in the store directly (none runs: the stand-in auth links nobody)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pm_platform.api import encode_cursor
from pm_provider_sync.domain.transfers import TRANSFER_JOB

from .conftest import ProviderSync

pytestmark = pytest.mark.integration


async def _listed(ps: ProviderSync, user: uuid.UUID, **query: str) -> tuple[int, Any]:
    response = await ps.client.get("/api/v1/transfers", params=query, headers=ps.headers(user))
    return response.status, await response.json()


async def test_transfers_are_listed_a_page_at_a_time_newest_first(provider_sync: ProviderSync) -> None:
    ps = provider_sync
    user, other = uuid.uuid4(), uuid.uuid4()
    async with ps.rt.transaction() as conn:
        # Made paused, so that no runner of this process takes them up; one import between them.
        made = []
        for n in range(5):
            job = await ps.rt.jobs.create(conn, TRANSFER_JOB, user, {"n": n})
            made.append(str(job.id))
            # One transaction's now() is one instant: each job a minute newer than the one before.
            await conn.execute(
                "UPDATE jobs SET created_at = now() - make_interval(mins => $2) WHERE id = $1", job.id, 5 - n
            )
        await ps.rt.jobs.create(conn, "library.import", user, {})
        await ps.rt.jobs.create(conn, TRANSFER_JOB, other, {})
        await conn.execute("UPDATE jobs SET state = 'paused' WHERE user_id = ANY($1)", [user, other])

    seen: list[str] = []
    query = {"limit": "2"}
    pages = 0
    while True:
        status, page = await _listed(ps, user, **query)
        assert status == 200, page
        assert len(page["transfers"]) <= 2
        seen += [t["job_id"] for t in page["transfers"]]
        pages += 1
        if page["next_cursor"] is None:
            break
        query = {"limit": "2", "cursor": page["next_cursor"]}
    assert seen == made[::-1] and pages == 3  # every transfer once, newest first
    status, everything = await _listed(ps, user)
    assert [t["job_id"] for t in everything["transfers"]] == seen and everything["next_cursor"] is None
    status, theirs = await _listed(ps, other)
    assert len(theirs["transfers"]) == 1 and theirs["transfers"][0]["job_id"] not in made


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        encode_cursor("yesterday", str(uuid.uuid4())),
        encode_cursor("2026-01-01T00:00:00", str(uuid.uuid4())),  # no time zone
        encode_cursor("2026-01-01T00:00:00+00:00", "not-a-uuid"),
        encode_cursor("2026-01-01T00:00:00+00:00"),
        "A" * 600,
    ],
)
async def test_a_cursor_the_list_did_not_give_is_a_422(provider_sync: ProviderSync, cursor: str) -> None:
    status, problem = await _listed(provider_sync, uuid.uuid4(), cursor=cursor)
    assert status == 422 and problem["errors"][0]["field"] == "cursor", problem


@pytest.mark.parametrize("limit", ["0", "201", "-1", "two"])
async def test_a_limit_out_of_range_is_a_422(provider_sync: ProviderSync, limit: str) -> None:
    status, problem = await _listed(provider_sync, uuid.uuid4(), limit=limit)
    assert status == 422 and problem["errors"][0]["field"] == "limit", problem
