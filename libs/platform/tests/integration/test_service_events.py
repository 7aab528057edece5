"""What every service's event handling must do, each service started in-process with FastStream's
in-memory broker (its real subscriber, dispatcher and handlers; real PostgreSQL and Redis): every
registry example of the types it handles is handled once and is a duplicate the second time, and a
deleted user's jobs are erased by the chassis. Each service's own tests/integration/test_events.py adds
what its handlers and its UserData do, in the same way."""

import importlib

import pytest

from pm_contracts.services import deployed_services
from pm_platform.testing import check_registry_examples, check_user_erasure

pytestmark = pytest.mark.integration

SERVICES = deployed_services()


@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
async def test_registry_examples_are_handled_once_and_deleted_users_erased(service, start_in_memory):
    runtime = await start_in_memory(importlib.import_module(f"{service.package}.app").definition())
    await check_registry_examples(runtime)
    await check_user_erasure(runtime)
