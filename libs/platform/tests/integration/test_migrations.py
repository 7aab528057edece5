import asyncio
from pathlib import Path

import asyncpg
import pytest

from pm_platform import db

pytestmark = pytest.mark.integration


def _write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


async def test_two_replicas_migrating_at_once_apply_each_file_once(make_database, tmp_path):
    dsn = await make_database("playlist")
    migrations_dir = _write(
        tmp_path / "m",
        {
            "0001_things.sql": "CREATE TABLE things (id int PRIMARY KEY); SELECT pg_sleep(0.3);",
            "0002_more.sql": "ALTER TABLE things ADD COLUMN name text;",
        },
    )
    migrations = db.all_migrations("svc", migrations_dir)
    conns = [await asyncpg.connect(dsn) for _ in range(3)]
    try:
        results = await asyncio.gather(*(db.migrate(c, "playlist", migrations) for c in conns))
        applied = sorted(key for r in results for key in r)
        assert applied == sorted(m.key for m in migrations)  # each exactly once across replicas
        columns = await conns[0].fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema='playlist' AND table_name='things'"
        )
        assert {c["column_name"] for c in columns} == {"id", "name"}
        assert await db.migrate(conns[0], "playlist", migrations) == []  # idempotent
    finally:
        for c in conns:
            await c.close()


async def test_an_applied_migration_that_changed_stops_start_up(make_database, tmp_path):
    dsn = await make_database("playlist")
    conn = await asyncpg.connect(dsn)
    try:
        first = _write(tmp_path / "a", {"0001_t.sql": "CREATE TABLE t (id int);"})
        await db.migrate(conn, "playlist", db.read_migrations("svc", first))
        changed = _write(tmp_path / "b", {"0001_t.sql": "CREATE TABLE t (id bigint);"})
        with pytest.raises(db.MigrationError, match="forward-only"):
            await db.migrate(conn, "playlist", db.read_migrations("svc", changed))
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_nothing_half_applied(make_database, tmp_path):
    dsn = await make_database("playlist")
    conn = await asyncpg.connect(dsn)
    try:
        bad = _write(
            tmp_path / "c", {"0001_bad.sql": "CREATE TABLE half (id int); SELECT * FROM missing_table;"}
        )
        with pytest.raises(asyncpg.UndefinedTableError):
            await db.migrate(conn, "playlist", db.read_migrations("svc", bad))
        assert await conn.fetchval("SELECT to_regclass('playlist.half')") is None
        assert await conn.fetchval("SELECT count(*) FROM playlist.schema_migrations") == 0
    finally:
        await conn.close()


async def test_a_service_role_cannot_touch_another_schema(make_database, stack):
    dsn = await make_database("playlist")
    # The auth role's schema exists in the stack's database; the playlist role must not reach it there.
    other = stack.service_env("playlist")["DATABASE_URL"]
    conn = await asyncpg.connect(other)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("SELECT * FROM auth.schema_migrations")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.intruder (id int)")
    finally:
        await conn.close()
    assert dsn
