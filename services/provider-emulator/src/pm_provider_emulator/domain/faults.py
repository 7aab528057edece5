"""Fault injection decisions (pure, deterministic): latency, 5xx rate, 429 storms, dropped connections.

Rates are applied by request count, not by chance: with ``error_rate=0.25`` exactly every fourth
request of that provider fails (request n fails when ``floor((n+1)*rate) > floor(n*rate)``), so a
test sees the same failures on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

Action = Literal["error", "rate_limit", "drop"]


class FaultConfig(BaseModel):
    """Faults for one provider (all hosts of that provider). Every field optional; zero means off."""

    latency_ms: int = Field(0, ge=0, le=60_000, description="added to every request")
    error_rate: float = Field(0.0, ge=0, le=1, description="fraction of requests answered with error_status")
    error_status: int = Field(503, ge=500, le=599)
    fail_next: int = Field(0, ge=0, description="the next N requests fail with error_status")
    storm_requests: int = Field(0, ge=0, description="the next N requests get the provider's 429 answer")
    storm_until: float | None = Field(None, description="epoch seconds: 429 for every request until then")
    storm_retry_after: int = Field(1, ge=0, description="Retry-After seconds sent during a storm")
    storm_quota: bool = Field(False, description='Spotify: the 2026 quota answer (reason "QUOTA_EXCEEDED")')
    drop_rate: float = Field(0.0, ge=0, le=1, description="fraction of requests whose connection is closed")
    drop_next: int = Field(0, ge=0, description="the next N requests get their connection closed")


@dataclass(frozen=True, slots=True)
class FaultDecision:
    latency_s: float = 0.0
    action: Action | None = None
    status: int = 0
    retry_after: int = 0
    quota: bool = False


def _hits(n: int, rate: float) -> bool:
    return rate > 0 and math.floor((n + 1) * rate) > math.floor(n * rate)


class FaultInjector:
    """Holds the per-provider fault configuration and request counters."""

    def __init__(self) -> None:
        self.configs: dict[str, FaultConfig] = {}
        self._counts: dict[str, int] = {}

    def set(self, provider: str, config: FaultConfig) -> None:
        self.configs[provider] = config
        self._counts[provider] = 0

    def clear(self, provider: str | None = None) -> None:
        if provider is None:
            self.configs.clear()
            self._counts.clear()
        else:
            self.configs.pop(provider, None)
            self._counts.pop(provider, None)

    def decide(self, provider: str, now: float) -> FaultDecision:
        cfg = self.configs.get(provider)
        if cfg is None:
            return FaultDecision()
        n = self._counts.get(provider, 0)
        self._counts[provider] = n + 1
        latency = cfg.latency_ms / 1000
        if cfg.drop_next > 0:
            cfg.drop_next -= 1
            return FaultDecision(latency, "drop")
        if cfg.storm_requests > 0:
            cfg.storm_requests -= 1
            return FaultDecision(latency, "rate_limit", 429, cfg.storm_retry_after, cfg.storm_quota)
        if cfg.storm_until is not None and now < cfg.storm_until:
            retry = max(cfg.storm_retry_after, math.ceil(cfg.storm_until - now))
            return FaultDecision(latency, "rate_limit", 429, retry, cfg.storm_quota)
        if cfg.fail_next > 0:
            cfg.fail_next -= 1
            return FaultDecision(latency, "error", cfg.error_status)
        if _hits(n, cfg.drop_rate):
            return FaultDecision(latency, "drop")
        if _hits(n, cfg.error_rate):
            return FaultDecision(latency, "error", cfg.error_status)
        return FaultDecision(latency)
