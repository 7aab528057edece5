import asyncio
from collections.abc import AsyncIterator
from importlib import resources

import asyncpg
import pytest

from pm_platform import db

SCHEMA = "playlist"  # the tests borrow the playlist role and schema in throwaway databases


@pytest.fixture
async def dsn(make_database) -> str:
    return await make_database(SCHEMA)


@pytest.fixture
async def pool(dsn) -> AsyncIterator[asyncpg.Pool]:
    conn = await asyncpg.connect(dsn)
    try:
        await db.migrate(
            conn, SCHEMA, db.read_migrations("platform", resources.files("pm_platform") / "migrations")
        )
        await conn.execute("CREATE TABLE counters (name text PRIMARY KEY, value int NOT NULL)")
    finally:
        await conn.close()
    pool = await db.create_pool(dsn, SCHEMA, min_size=1, max_size=5)
    yield pool
    await asyncio.wait_for(pool.close(), 10)
