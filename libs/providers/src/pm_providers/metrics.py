"""Every metric of the provider adapters, declared once.

Register them on the service's registry (``ProviderMetrics(service_metrics.registry)``) so they are
served on its ``/metrics``. Labels stay low-cardinality: ``endpoint`` is the adapter's name for a
call (``playlist_items``), never a path with ids.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ProviderMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        # One count per HTTP call to a provider, by outcome: ok, unauthorized, rate_limited, quota,
        # client_error, server_error, network.
        self.requests = Counter(
            "pm_provider_requests",
            "HTTP calls to streaming providers",
            ["provider", "endpoint", "outcome"],
            registry=r,
        )
        # Time of one HTTP call (not of the waits around it).
        self.latency = Histogram(
            "pm_provider_request_duration_seconds",
            "Duration of one HTTP call to a provider",
            ["provider", "endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        # Calls repeated by the pipeline, by reason: server_error, network, rate_limited, token_refresh.
        self.retries = Counter(
            "pm_provider_retries",
            "Provider calls retried by the pipeline",
            ["provider", "reason"],
            registry=r,
        )
        # Seconds spent waiting before calls: our token buckets (throttle) or the provider's
        # Retry-After (rate_limited) and backoff.
        self.wait_seconds = Counter(
            "pm_provider_wait_seconds",
            "Time spent waiting before provider calls",
            ["provider", "reason"],
            registry=r,
        )
        # Access-token refreshes after a 401, by outcome (ok, failed).
        self.token_refreshes = Counter(
            "pm_provider_token_refreshes",
            "Access-token refreshes after a 401",
            ["provider", "outcome"],
            registry=r,
        )
        # Quota left today (YouTube units and search calls), as last counted.
        self.quota_remaining = Gauge(
            "pm_provider_quota_remaining", "Provider quota left today", ["provider", "bucket"], registry=r
        )
