"""SQL of master-key rotation: every row whose data key is wrapped by a master key, table by table.

Each sealed table is listed with the columns that name its record (the AAD of its wrapped key).
Rows are taken in batches with ``FOR UPDATE SKIP LOCKED`` (a row a token refresh holds for a moment, to
claim it or store its result, is left for the next pass) and updated only if still wrapped by the key
they were read with (a refresh that stores meanwhile seals under a fresh data key of the current key).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from pm_auth.domain.vault import WrappedKey, record_name


@dataclass(frozen=True)
class SealedTable:
    table: str
    key_columns: tuple[str, ...]  # primary key

    def record(self, row: asyncpg.Record) -> str:
        return record_name(self.table, *(row[c] for c in self.key_columns))


SEALED_TABLES: tuple[SealedTable, ...] = (
    SealedTable("provider_links", ("user_id", "provider")),
    SealedTable("signing_keys", ("kid",)),
    SealedTable("oauth_attempts", ("id",)),
)


async def count_by_key(conn: asyncpg.Connection, table: SealedTable) -> dict[str, int]:
    rows = await conn.fetch(f"SELECT key_id, count(*) AS n FROM {table.table} GROUP BY key_id")
    return {r["key_id"]: int(r["n"]) for r in rows}


async def lock_batch(
    conn: asyncpg.Connection,
    table: SealedTable,
    key_ids: list[str],
    limit: int,
    after: tuple[Any, ...] | None = None,
) -> list[asyncpg.Record]:
    """Rows wrapped by one of ``key_ids``, locked, skipping rows another transaction holds; in primary
    key order, after the primary key ``after`` (keyset paging: a row that cannot be re-wrapped is
    passed over, never taken again in the same pass)."""
    cols = ", ".join(table.key_columns)
    args: list[Any] = [key_ids, limit]
    where = ""
    if after is not None:
        marks = ", ".join(f"${i + 3}" for i in range(len(table.key_columns)))
        where = f" AND ({cols}) > ({marks})"
        args += list(after)
    return list(
        await conn.fetch(
            f"""SELECT {cols}, key_id, wrapped_key FROM {table.table} WHERE key_id = ANY($1::text[]){where}
                ORDER BY {cols} LIMIT $2 FOR UPDATE SKIP LOCKED""",
            *args,
        )
    )


def primary_key(table: SealedTable, row: asyncpg.Record) -> tuple[Any, ...]:
    return tuple(row[c] for c in table.key_columns)


async def store_rewrapped(
    conn: asyncpg.Connection, table: SealedTable, row: asyncpg.Record, new: WrappedKey
) -> bool:
    where = " AND ".join(f"{c} = ${i + 4}" for i, c in enumerate(table.key_columns))
    args: list[Any] = [new.key_id, new.wrapped, row["key_id"], *(row[c] for c in table.key_columns)]
    status = await conn.execute(
        f"UPDATE {table.table} SET key_id = $1, wrapped_key = $2 WHERE key_id = $3 AND {where}", *args
    )
    return bool(status.endswith(" 1"))
