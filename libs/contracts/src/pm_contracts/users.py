"""Topic ``pm.users``: the life of a user account. Owner: auth. Key: the user id."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class UserRegistered(BaseModel):
    """A user account was created."""

    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat

    user_id: uuid.UUID
    registered_at: datetime


class UserDeleted(BaseModel):
    """A user deleted their account: every service removes that user's data."""

    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat

    user_id: uuid.UUID
    deleted_at: datetime
    reason: str = Field(default="user_request", max_length=64)
