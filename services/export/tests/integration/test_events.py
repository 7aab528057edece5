"""The export service's event handling, through its real subscriber and dispatcher on FastStream's
in-memory broker (delivery itself is tested against Kafka in libs/platform)."""

import uuid
from datetime import UTC, datetime

import pytest

from pm_contracts.users import UserDeleted
from pm_export.app import definition
from pm_export.domain.objects import user_prefixes
from pm_platform.consumers import Outcome
from pm_platform.s3 import OBJECT_STORE
from pm_platform.testing import deliver

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(start_in_memory):
    return await start_in_memory(definition())


async def test_a_deleted_users_objects_are_erased_and_nobody_elses(runtime):
    store = runtime[OBJECT_STORE]
    user, other = uuid.uuid4(), uuid.uuid4()
    for owner, name in [(user, "job-1/a.m3u8"), (user, "job-2/b.json"), (other, "job-3/c.m3u8")]:
        for prefix in user_prefixes(owner):
            await store.put_bytes(prefix + name, b"x")
    event = UserDeleted(user_id=user, deleted_at=datetime.now(UTC))
    assert await deliver(runtime, event) is Outcome.HANDLED
    for prefix in user_prefixes(user):
        assert await store.names(prefix) == []
    for prefix in user_prefixes(other):
        assert await store.names(prefix) == [prefix + "job-3/c.m3u8"]
        assert await store.delete_prefix(prefix) == 1
