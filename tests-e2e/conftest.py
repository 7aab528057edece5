"""End-to-end tests: the running stack (`make up`), driven through the gateway and the emulator."""

import pytest

from pm_devstack.stack import Stack


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def gateway_url(stack: Stack) -> str:
    return stack.gateway_url
