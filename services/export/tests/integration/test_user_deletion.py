"""Deleting a user removes their objects from the bucket, and nobody else's."""

import json
import uuid
from pathlib import Path

import pytest

from pm_export.app import definition
from pm_export.domain.objects import user_prefix
from pm_platform.consumers import Outcome
from pm_platform.s3 import OBJECT_STORE
from pm_platform.testing import running_service

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[4] / "proto/examples/user.deleted/1.json"


async def test_user_deleted_removes_the_users_objects(service_env_factory):
    async with running_service(definition(), await service_env_factory("export")) as (_, rt):
        store = rt[OBJECT_STORE]
        event = json.loads(EXAMPLE.read_text())
        event["id"] = str(uuid.uuid4())
        user = uuid.UUID(event["data"]["user_id"])
        other = uuid.uuid4()
        for owner, name in [(user, "a.m3u8"), (user, "backups/b.json"), (other, "c.m3u8")]:
            await store.put_bytes(user_prefix(owner) + name, b"x")
        assert rt.dispatcher is not None
        outcome = await rt.dispatcher.dispatch(json.dumps(event).encode(), "pm.users")
        assert outcome is Outcome.HANDLED
        assert await store.names(user_prefix(user)) == []
        assert await store.names(user_prefix(other)) == [user_prefix(other) + "c.m3u8"]
        assert await store.delete_prefix(user_prefix(other)) == 1
