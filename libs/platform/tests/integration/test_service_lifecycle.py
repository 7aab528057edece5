"""The chassis starts a service's resources before its consumers and stops them after: a handler never
finds a resource missing, whenever an event arrives."""

import dataclasses
from collections.abc import AsyncIterator

import pytest

from pm_platform.service import Runtime
from pm_platform.testing import running_service
from pm_playlist.app import definition

pytestmark = pytest.mark.integration


async def test_resources_outlive_the_consumers(service_env_factory):
    seen: dict[str, bool] = {}

    async def probe(rt: Runtime) -> AsyncIterator[None]:
        seen["consuming at start"] = rt.dispatcher is not None
        yield
        seen["consuming at stop"] = not rt.bus.closed

    service = dataclasses.replace(definition(), resources=[probe])
    async with running_service(service, await service_env_factory("playlist")) as (client, _):
        assert (await client.get("/health/ready")).status == 200
    assert seen == {"consuming at start": False, "consuming at stop": False}
