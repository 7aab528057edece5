"""The playlist service running for real (in-process, throwaway database, private Kafka topics), and
helpers that call its API the way the gateway does (a signed identity per user)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel

from pm_contracts.library import ImportedEntry, ImportedPlaylist, ImportedTrack, PlaylistImported
from pm_contracts.registry import event_spec, event_type_of
from pm_platform.consumers import Outcome
from pm_platform.identity import Identity
from pm_platform.service import Runtime
from pm_platform.testing import GatewayIdentityKey, envelope_of, published_events, running_service
from pm_playlist.app import definition


@dataclass
class Library:
    client: TestClient[web.Request, web.Application]
    rt: Runtime
    gateway_key: GatewayIdentityKey

    def user(self) -> User:
        return User(self, uuid.uuid4())

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self.rt.pool.acquire() as conn:
            return list(await conn.fetch(sql, *args))

    async def deliver(self, event: BaseModel) -> Outcome:
        """Hand an event to the service's dispatcher as its Kafka subscriber would (inbox, transaction,
        then the cache): a new event id each time, as a replay by its producer would have."""
        event_type = event_type_of(type(event))
        topic, _ = event_spec(event_type)
        assert self.rt.dispatcher is not None
        return await self.rt.dispatcher.dispatch(
            envelope_of(event_type, event), self.rt.bus.topic(topic.name)
        )

    async def events(
        self, playlist_id: str | uuid.UUID, event_type: str | None = None
    ) -> list[dict[str, Any]]:
        return await published_events(self.rt, str(playlist_id), event_type)


@dataclass
class User:
    lib: Library
    id: uuid.UUID

    def headers(self, **extra: str) -> dict[str, str]:
        return {**self.lib.gateway_key.headers(Identity(self.id, uuid.uuid4())), **extra}

    async def call(self, method: str, path: str, *, expect: int | None = None, **kwargs: Any) -> Any:
        headers = self.headers(**kwargs.pop("headers", {}))
        response = await self.lib.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        body = await response.read()
        if expect is not None:
            assert response.status == expect, (response.status, body[:2000])
        return response, (await response.json() if body and response.content_type.endswith("json") else None)

    async def create(self, name: str = "Mix", tracks: int = 0, **extra: Any) -> dict[str, Any]:
        songs = [
            {"title": f"Song {i}", "artists": [f"Artist {i % 7}"], "duration_ms": 200_000 + i}
            for i in range(tracks)
        ]
        _, body = await self.call(
            "POST", "/playlists", json={"name": name, "tracks": songs, **extra}, expect=201
        )
        return body

    async def page(self, playlist_id: str, **query: Any) -> dict[str, Any]:
        _, body = await self.call("GET", f"/playlists/{playlist_id}", params=query, expect=200)
        return body

    async def import_playlist(
        self,
        provider_playlist_id: str,
        titles: list[str],
        *,
        job: uuid.UUID | None = None,
        parts: int = 1,
        **meta: Any,
    ) -> None:
        """Deliver what provider-sync would send for a Spotify playlist of these titles."""
        entries = [
            ImportedEntry(
                track=ImportedTrack(
                    provider_track_id=f"trk-{t}", title=t, artists=["Band"], duration_ms=180_000
                ),
                added_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
            for t in titles
        ]
        job = job or uuid.uuid4()
        size = -(-len(entries) // parts) if entries else 0
        for part in range(1, parts + 1):
            event = PlaylistImported(
                user_id=self.id,
                job_id=job,
                provider="spotify",
                playlist=ImportedPlaylist(
                    provider_playlist_id=provider_playlist_id, name=meta.pop("name", "Imported"), **meta
                ),
                part=part,
                parts=parts,
                entries=entries[(part - 1) * size : part * size],
                read_at=datetime(2026, 2, 1, tzinfo=UTC),
            )
            await self.lib.deliver(event)


@pytest.fixture(scope="module")
async def library(service_env_factory: Any) -> AsyncIterator[Library]:
    gateway_key = GatewayIdentityKey.generate()
    env = await service_env_factory("playlist")
    env["IDENTITY_PUBLIC_KEYS"] = gateway_key.public_keys
    async with running_service(definition(), env) as (client, rt):
        yield Library(client, rt, gateway_key)
