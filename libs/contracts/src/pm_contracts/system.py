"""Topic ``pm.system``: service instances announcing themselves. Key: the service name."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ServiceStarted(BaseModel):
    """A service instance started, migrated its schema and is serving."""

    model_config = ConfigDict(extra="ignore")  # a tolerant reader: see pm_contracts.compat

    service: str = Field(min_length=1, max_length=64)
    instance: str = Field(min_length=1, max_length=128)
    version: str = Field(min_length=1, max_length=64)
    schema_migrations: list[str]
    started_at: datetime
