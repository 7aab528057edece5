"""The playlist service's definition agrees with proto/services.yaml, the topic registry and its migrations."""

from pm_platform.testing import check_definition
from pm_playlist.app import definition


def test_definition_agrees_with_the_service_list_registry_and_migrations():
    check_definition(definition())
