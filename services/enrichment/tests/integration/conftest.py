"""The enrichment service running for real (in-process, throwaway database) with FastStream's in-memory
broker in place of Kafka, and helpers to tell it matches and misses and read its catalog back. The
catalog is shared, so each test uses track ids of its own (:func:`ids`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from pm_contracts.transfers import TrackMatched, TrackNotFound, TrackRef
from pm_enrichment.app import definition
from pm_platform.consumers import Outcome
from pm_platform.identity import service_credential
from pm_platform.service import Runtime
from pm_platform.testing import deliver, running_service


def ids(prefix: str = "t") -> str:
    """A fresh track id: tests share the catalog."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def matched(
    source: tuple[str, str],
    target: tuple[str, str],
    *,
    source_isrc: str | None = None,
    target_isrc: str | None = None,
    **changes: Any,
) -> TrackMatched:
    values: dict[str, Any] = {
        "job_id": uuid.uuid4(),
        "source": TrackRef(provider=source[0], provider_track_id=source[1]),
        "target": TrackRef(provider=target[0], provider_track_id=target[1]),
        "source_isrc": source_isrc,
        "target_isrc": target_isrc,
        "title": "Teardrop",
        "artists": ["Massive Attack"],
        "duration_ms": 330_773,
        "method": "search",
        "confidence": 0.97,
        "matched_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    return TrackMatched.model_validate(values | changes)


def missed(
    source: tuple[str, str], target: str, *, source_isrc: str | None = None, **changes: Any
) -> TrackNotFound:
    """A transfer's miss: nothing on ``target`` for ``source``."""
    values: dict[str, Any] = {
        "job_id": uuid.uuid4(),
        "source": TrackRef(provider=source[0], provider_track_id=source[1]),
        "source_isrc": source_isrc,
        "target": target,
        "title": "Teardrop (Kazoo Version)",
        "artists": ["The Kazoo Collective"],
        "duration_ms": 213_573,
        "searched_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    return TrackNotFound.model_validate(values | changes)


@dataclass
class Catalog:
    client: TestClient[web.Request, web.Application]
    rt: Runtime
    service_token: str

    def service_headers(self) -> dict[str, str]:
        return {"Authorization": service_credential(self.service_token)}

    async def tell(self, event: TrackMatched | TrackNotFound) -> None:
        """Deliver the match or miss through the service's subscriber and dispatcher: handled."""
        assert await deliver(self.rt, event) is Outcome.HANDLED

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self.rt.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def recording_of(self, provider: str, track_id: str) -> uuid.UUID | None:
        rows = await self.fetch(
            "SELECT recording_id FROM recording_provider_ids WHERE provider = $1 AND provider_track_id = $2",
            provider,
            track_id,
        )
        return rows[0]["recording_id"] if rows else None

    async def tracks(self, recording_id: uuid.UUID) -> list[tuple[str, str]]:
        """The recording's tracks, in recording order."""
        rows = await self.fetch(
            "SELECT provider, provider_track_id FROM recording_provider_ids WHERE recording_id = $1 ORDER BY seq",
            recording_id,
        )
        return [(r["provider"], r["provider_track_id"]) for r in rows]

    async def isrcs(self, recording_id: uuid.UUID) -> set[str]:
        rows = await self.fetch("SELECT isrc FROM recording_isrcs WHERE recording_id = $1", recording_id)
        return {r["isrc"] for r in rows}

    async def joins(self, source: tuple[str, str], target: tuple[str, str]) -> list[Any]:
        """The join records of a pair, oldest first."""
        return await self.fetch(
            """SELECT * FROM catalog_joins WHERE source_provider = $1 AND source_track_id = $2
               AND target_provider = $3 AND target_track_id = $4 ORDER BY id""",
            *source,
            *target,
        )

    async def misses(self, source: tuple[str, str]) -> dict[str, Any]:
        """The source track's remembered misses, by target provider."""
        rows = await self.fetch(
            "SELECT * FROM catalog_misses WHERE source_provider = $1 AND source_track_id = $2", *source
        )
        return {r["target_provider"]: r for r in rows}

    async def snapshot(self, *recording_ids: uuid.UUID) -> list[Any]:
        """Everything the catalog holds of these recordings, to compare before and after."""
        return [
            await self.fetch("SELECT * FROM recordings WHERE id = ANY($1) ORDER BY id", list(recording_ids)),
            await self.fetch(
                "SELECT * FROM recording_provider_ids WHERE recording_id = ANY($1) ORDER BY seq",
                list(recording_ids),
            ),
            await self.fetch(
                "SELECT * FROM recording_isrcs WHERE recording_id = ANY($1) ORDER BY seq", list(recording_ids)
            ),
            await self.fetch(
                "SELECT * FROM catalog_joins WHERE recording_id = ANY($1) ORDER BY id", list(recording_ids)
            ),
        ]


@pytest.fixture(scope="module")
async def catalog(service_env_factory: Any) -> AsyncIterator[Catalog]:
    env = await service_env_factory("enrichment")
    # The enrichment worker idle (it would write the recordings these tests compare): its own tests run
    # its stages themselves (test_enrichment_worker.py).
    env["ENRICHMENT_INTERVAL_S"] = "3600"
    async with running_service(definition(), env, broker="memory") as (client, rt):
        yield Catalog(client, rt, env["SERVICE_TOKEN"])
