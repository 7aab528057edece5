"""The emulator names the providers as the project does (``pm_contracts.providers``, the one list) but
imports none of the project's packages at run time: it stands in for the outside world, and its image
carries only itself. These checks keep its own tables (state, rate limits, OAuth clients) equal to it."""

from __future__ import annotations

from pm_contracts.providers import PROVIDERS as PROJECT_PROVIDERS
from pm_provider_emulator.app import DEMO_TOKEN_TTL, DEV_CLIENT_SECRETS
from pm_provider_emulator.domain.demo import DEMO_ACCOUNTS
from pm_provider_emulator.domain.ratelimit import RateLimits
from pm_provider_emulator.http.admin import DEFAULT_TTL, RATE_PROVIDERS
from pm_provider_emulator.storage.state import PROVIDERS


def test_the_emulator_names_the_projects_providers() -> None:
    assert tuple(provider.value for provider in PROJECT_PROVIDERS) == PROVIDERS


def test_every_table_of_the_emulator_covers_the_same_providers() -> None:
    for table in (DEV_CLIENT_SECRETS, DEMO_TOKEN_TTL, DEMO_ACCOUNTS, DEFAULT_TTL):
        assert set(table) == set(PROVIDERS)
    # MusicBrainz is rate limited too, but it is no streaming provider.
    assert set(RateLimits().enabled) == set(RATE_PROVIDERS) == {*PROVIDERS, "musicbrainz"}
