"""Topic ``pm.provider-links``: a user's linked streaming accounts. Owner: auth. Key: the user id."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from pm_contracts.providers import ProviderField


def waiting_for_link(provider: str) -> str:
    """What a paused job (``job.updated``'s ``waiting_for``) waits for when it needs the user to link
    ``provider`` again: the next ``provider.linked`` of that user and provider resumes it."""
    return f"provider-link:{provider}"


class ProviderLinked(BaseModel):
    """A streaming account was linked (or linked again after re-consent)."""

    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat

    user_id: uuid.UUID
    provider: ProviderField
    provider_account_id: str = Field(min_length=1, max_length=200)
    display_name: str | None = Field(default=None, max_length=500)
    scopes: list[str]
    linked_at: datetime


class ProviderUnlinked(BaseModel):
    """A streaming account was unlinked; its tokens were revoked and deleted."""

    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat

    user_id: uuid.UUID
    provider: ProviderField
    provider_account_id: str = Field(min_length=1, max_length=200)
    unlinked_at: datetime


class ProviderReconsentRequired(BaseModel):
    """The provider refused a token refresh (e.g. invalid_grant): the user must link again.

    Jobs that need this link pause instead of failing until ``provider.linked`` arrives.
    """

    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat

    user_id: uuid.UUID
    provider: ProviderField
    provider_account_id: str = Field(min_length=1, max_length=200)
    detected_at: datetime
    reason: str = Field(max_length=500)
