"""Topic ``pm.sessions``: sessions ended before their time. Owner: auth. Key: the user id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

RevocationReason = Literal["logout", "user_revoked", "refresh_reuse", "password_changed", "user_deleted"]


class SessionRevoked(BaseModel):
    """A session was revoked: access tokens of it must be refused until they expire."""

    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat

    user_id: uuid.UUID
    session_id: uuid.UUID
    reason: RevocationReason
    revoked_at: datetime
    access_expires_at: datetime  # the latest expiry of any access token issued for the session
