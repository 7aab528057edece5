"""Request bodies of the public API. Unknown fields, wrong types and oversized values are 422s."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pm_auth.domain.passwords import MAX_LENGTH as MAX_PASSWORD
from pm_auth.domain.sessions import MAX_DEVICE_NAME

# Small bodies only: anything larger is refused with 413 before it is parsed.
MAX_BODY_BYTES = 16 * 1024


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RegisterBody(Body):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class LoginBody(Body):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    device_name: str | None = Field(default=None, max_length=MAX_DEVICE_NAME)


class RefreshBody(Body):
    refresh_token: str = Field(min_length=1, max_length=256)


class PasswordBody(Body):
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class ChangePasswordBody(Body):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class AuthorizeBody(Body):
    mode: Literal["redirect", "poll"]
    return_to: str | None = Field(default=None, min_length=1, max_length=2000)
