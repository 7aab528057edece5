"""Query plans of a service's own SQL, checked: no hot query reads a big table from end to end.

A service's storage functions run against :class:`ExplainingConnection` instead of a connection: each
statement they send is not executed but explained (``EXPLAIN (FORMAT JSON)``, with the same arguments,
so the planner sees the real parameter types), and answers as if nothing matched. So the checks always
see the SQL the service really sends — no copy of it to drift — and a write is never made. Then
:func:`sequential_scans` names every plan that reads a big table sequentially (big: at least
``min_rows`` rows by the planner's statistics, so a scan of a small table, which the planner rightly
prefers, is not a finding).

Used by each service's ``explain-checks`` command (`make explain-checks`, run by `make test` over a
generated data set, and by operators on a production database: it only reads).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from pm_platform.db import from_json_column


@dataclass(frozen=True)
class Plan:
    label: str  # which storage call sent it
    sql: str
    plan: dict[str, Any]


@dataclass
class ExplainingConnection:
    """Stands in for an asyncpg connection in storage code: explains instead of executing."""

    conn: asyncpg.Connection
    label: str = ""
    plans: list[Plan] = field(default_factory=list)

    async def _explain(self, sql: str, args: tuple[Any, ...]) -> None:
        raw = await self.conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
        document = from_json_column(raw)
        self.plans.append(Plan(self.label, " ".join(sql.split()), document[0]["Plan"]))

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        await self._explain(sql, args)
        return []

    async def fetchrow(self, sql: str, *args: Any) -> None:
        await self._explain(sql, args)
        return None

    async def fetchval(self, sql: str, *args: Any) -> None:
        await self._explain(sql, args)
        return None

    async def execute(self, sql: str, *args: Any) -> str:
        await self._explain(sql, args)
        return "EXPLAIN 0"


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


async def big_tables(conn: asyncpg.Connection, min_rows: int, schema: str | None = None) -> set[str]:
    """The tables of ``schema`` (the connection's own by default) the planner believes hold at least
    ``min_rows`` rows (run ANALYZE first)."""
    rows = await conn.fetch(
        """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = coalesce($1, current_schema()) AND c.relkind = 'r' AND c.reltuples >= $2""",
        schema,
        min_rows,
    )
    return {r["relname"] for r in rows}


def sequential_scans(plans: list[Plan], big: set[str]) -> list[str]:
    """One line per plan that reads a big table sequentially: the call, the table, the statement."""
    found = []
    for plan in plans:
        for node in _nodes(plan.plan):
            if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in big:
                found.append(f"{plan.label}: sequential scan of {node['Relation Name']} in: {plan.sql[:300]}")
    return found
