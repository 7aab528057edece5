"""The typed errors as their other users build them: auth raises ProviderUnavailable for a provider's
authorization server that is down (the one class of that name in the project)."""

from __future__ import annotations

from pm_providers.errors import ProviderError, ProviderUnavailable
from pm_providers.models import ProviderName


def test_provider_unavailable_takes_a_message_and_optionally_where_and_what() -> None:
    bare = ProviderUnavailable("ClientConnectorError")
    assert str(bare) == "ClientConnectorError"
    assert bare.provider is None and bare.status is None and bare.code is None
    assert bare.retryable and not bare.uncertain

    answered = ProviderUnavailable(
        "the token endpoint failed", provider=ProviderName("tidal"), status=502, code="token_endpoint"
    )
    assert isinstance(answered, ProviderError)
    assert str(answered) == "tidal: the token endpoint failed (status 502)"
    assert answered.provider is ProviderName.TIDAL and answered.code == "token_endpoint"
