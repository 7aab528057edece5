"""The one envelope every event travels in: CloudEvents 1.0 attributes, structured JSON mode.

Extension attributes (lower-case alphanumerics, as CloudEvents requires): ``schemaversion`` (the
payload schema's major version) and ``correlationid`` (the user action the event belongs to). The
``subject`` is the aggregate id, which is also the Kafka key, so per-aggregate order holds.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json"


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # unknown extension attributes are dropped

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    source: str = Field(
        min_length=1, description="URI reference of the producing service, e.g. /services/auth"
    )
    type: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
    subject: str = Field(min_length=1, description="The aggregate id; also the Kafka key")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: Literal["application/json"] = "application/json"
    schemaversion: int = Field(ge=1)
    correlationid: str = Field(min_length=1, max_length=128)
    data: dict[str, Any]

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        return cls.model_validate_json(raw)
