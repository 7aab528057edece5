"""Auth's event handling, through its real subscriber and dispatcher on FastStream's in-memory broker
(delivery itself is tested against Kafka in libs/platform). Auth produces the user events; what it
consumes is the chassis's erasure of a deleted user, which finds auth's rows gone already when the
deletion request removed them, and removes any that were written meanwhile."""

import uuid
from datetime import UTC, datetime

import pytest

from pm_auth.app import definition
from pm_auth.domain.sessions import ClientInfo
from pm_auth.errors import SessionRevoked
from pm_auth.usecases.accounts import account, login, register
from pm_auth.usecases.sessions import require_live_session
from pm_contracts.users import UserDeleted
from pm_platform.consumers import Outcome
from pm_platform.identity import Identity
from pm_platform.testing import deliver

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(start_in_memory):
    return await start_in_memory(definition())


async def test_rows_written_for_a_deleted_user_are_erased_and_nobody_elses(runtime):
    """A session written while the deletion was in flight (the login raced it) goes too."""
    password = "correct horse battery staple"
    identities = []
    for name in ("erase", "keep"):
        email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
        created = await register(runtime, email, password, ClientInfo(ip="192.0.2.1", user_agent="test"))
        tokens = await login(runtime, email, password, "test", ClientInfo(ip="192.0.2.1", user_agent="test"))
        identities.append(Identity(user_id=created.id, session_id=tokens.claims.session_id))
    erased, kept = identities
    deleted = UserDeleted(user_id=erased.user_id, deleted_at=datetime.now(UTC))
    assert await deliver(runtime, deleted) is Outcome.HANDLED
    with pytest.raises(SessionRevoked):
        await account(runtime, erased)
    assert (await account(runtime, kept)).id == kept.user_id
    assert await require_live_session(runtime, kept) == kept
