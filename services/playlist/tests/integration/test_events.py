"""The playlist service's event handling, through its real subscriber and dispatcher on FastStream's
in-memory broker (delivery itself is tested against Kafka in libs/platform)."""

import pytest

from pm_platform.testing import check_registry_examples, check_user_erasure, running_service
from pm_playlist.app import definition

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(service_env_factory):
    async with running_service(definition(), await service_env_factory("playlist"), broker="memory") as (
        _,
        rt,
    ):
        yield rt


async def test_registry_examples_are_handled_once(runtime):
    await check_registry_examples(runtime)


async def test_a_deleted_users_data_is_erased(runtime):
    await check_user_erasure(runtime)
