"""The enrichment service runs for real: migrations, Kafka, readiness and metrics."""

import pytest

from pm_enrichment.app import definition
from pm_platform.testing import check_service_basics

pytestmark = pytest.mark.integration


async def test_service_basics(service_env_factory):
    await check_service_basics(definition(), await service_env_factory("enrichment"))
