"""provider-sync's problems: its expected failures, each a domain error that carries its HTTP status.

Raised by the use cases; the chassis renders each as problem+json.
"""

from __future__ import annotations

from pm_platform.errors import ValidationFailed


class ProviderNotLinked(ValidationFailed):
    code, title = "provider-not-linked", "The provider is not linked"


class NoLinkedProvider(ValidationFailed):
    code, title = "no-linked-provider", "No provider is linked"


class ProviderNeedsReconsent(ValidationFailed):
    code, title = "reconsent-required", "The provider has to be linked again"
