"""Every metric a service exports, declared once. Each service process owns one registry."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest

__all__ = ["PROMETHEUS_CONTENT_TYPE", "Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The metrics of one service process. Labels stay low-cardinality (route templates, not paths)."""

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"service": service}
        r = self.registry
        # The process: resident memory, CPU, open files (process_*; Linux), for the memory alert.
        ProcessCollector(registry=r)
        # HTTP: one series per route template, method and status.
        self.http_requests = Counter(
            "pm_http_requests", "HTTP requests served", ["method", "route", "status"], registry=r
        )
        self.http_latency = Histogram(
            "pm_http_request_duration_seconds",
            "Time to serve an HTTP request",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        # Kafka: what the outbox relay published and what consumers handled, by outcome.
        self.kafka_produced = Counter(
            "pm_kafka_produced", "Events published to Kafka", ["topic", "type"], registry=r
        )
        self.kafka_produce_errors = Counter(
            "pm_kafka_produce_errors", "Failed attempts to publish to Kafka", ["topic"], registry=r
        )
        self.kafka_consumed = Counter(
            "pm_kafka_consumed",
            "Events consumed, by outcome (handled, duplicate, dead_lettered, ignored)",
            ["topic", "type", "outcome"],
            registry=r,
        )
        self.kafka_consume_retries = Counter(
            "pm_kafka_consume_retries", "Transient consumer failures retried", ["topic", "type"], registry=r
        )
        self.kafka_handle_latency = Histogram(
            "pm_kafka_handle_duration_seconds",
            "Time to handle one consumed event",
            ["topic", "type"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        # Consumer lag from the offsets (pm_platform.lag): records of the topic the group has not committed.
        self.kafka_consumer_lag = Gauge(
            "pm_kafka_consumer_lag",
            "Records of the topic its consumer group has not committed yet (end minus committed offsets, "
            "summed over partitions), sampled every KAFKA_LAG_INTERVAL_S",
            ["group", "topic"],
            registry=r,
        )
        # Outbox: rows written but not yet published; a growing number means Kafka is unreachable.
        self.outbox_backlog = Gauge("pm_outbox_backlog", "Outbox events not yet published", registry=r)
        self.outbox_oldest_age = Gauge(
            "pm_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox event", registry=r
        )
        # Database pool.
        self.db_pool_size = Gauge("pm_db_pool_size", "Connections open in the pool", registry=r)
        self.db_pool_idle = Gauge("pm_db_pool_idle", "Idle connections in the pool", registry=r)
        self.db_pool_max = Gauge("pm_db_pool_max", "Maximum pool size", registry=r)
        # Jobs.
        self.jobs = Counter("pm_jobs", "Job state transitions", ["kind", "state"], registry=r)
        self.info = Gauge("pm_service_info", "Service identity", list(labels), registry=r)
        self.info.labels(**labels).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
