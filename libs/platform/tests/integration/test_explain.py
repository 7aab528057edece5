"""The query-plan check sees what the planner does with the real statement, and only on big tables."""

import asyncpg
import pytest

from pm_platform.explain import ExplainingConnection, big_tables, sequential_scans

pytestmark = pytest.mark.integration


async def test_a_scan_of_a_big_table_is_named_and_an_indexed_read_is_not(make_database):
    conn = await asyncpg.connect(await make_database("playlist"))
    try:
        await conn.execute("CREATE TABLE big (id int PRIMARY KEY, colour text)")
        await conn.execute("CREATE TABLE small (id int PRIMARY KEY, colour text)")
        await conn.execute("INSERT INTO big SELECT i, 'c' || (i % 10) FROM generate_series(1, 50000) i")
        await conn.execute("INSERT INTO small SELECT i, 'c' FROM generate_series(1, 10) i")
        await conn.execute("ANALYZE")
        big = await big_tables(conn, 10_000)
        assert big == {"big"}

        explaining = ExplainingConnection(conn, "by colour")
        assert await explaining.fetch("SELECT * FROM big WHERE colour = $1", "c1") == []
        explaining.label = "by id"
        assert await explaining.fetchrow("SELECT * FROM big WHERE id = $1", 7) is None
        explaining.label = "small"
        await explaining.fetch("SELECT * FROM small WHERE colour = $1", "c")
        explaining.label = "delete"
        assert await explaining.execute("DELETE FROM big WHERE colour = $1", "c2") == "EXPLAIN 0"
        found = sequential_scans(explaining.plans, big)
        assert [line.split(":")[0] for line in found] == ["by colour", "delete"]
        # Explained, never run: the delete deleted nothing.
        assert await conn.fetchval("SELECT count(*) FROM big") == 50000
    finally:
        await conn.close()
