"""The service chassis: one process serving HTTP (aiohttp) and Kafka (FastStream) in one event loop.

A service declares itself with a :class:`ServiceDefinition` (its routes, event handlers, job handlers,
resources, health checks and the user data it keeps) and gets the same start-up, migrations, outbox
relay, consumers, job runner, erasure of deleted users, health, metrics, logging and shutdown as every
other service::

    python -m pm_<name> serve      # migrate, then serve until SIGTERM
    python -m pm_<name> migrate    # apply migrations and exit
    python -m pm_<name> check-config
    python -m pm_<name> <command> [args]   # a service's own commands (ServiceDefinition.commands)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from importlib.resources.abc import Traversable
from typing import Any, TypeVar, cast

import asyncpg
import redis.asyncio as aioredis
import uvloop
from aiohttp import web
from aiohttp.typedefs import Middleware
from loguru import logger
from pydantic import BaseModel

from pm_contracts.registry import topics_consumed_by, topics_produced_by
from pm_contracts.system import ServiceStarted
from pm_platform import db
from pm_platform.consumers import (
    Dispatcher,
    EventHandlers,
    check_against_registry,
    kafka_dead_letter,
    subscribe,
)
from pm_platform.health import HealthCheck, add_health_routes
from pm_platform.http import BODY_LIMITS, BodyLimits, name_the_server, standard_middlewares
from pm_platform.identity import IdentityKeys, IdentityVerifier
from pm_platform.jobs import JobHandler, JobRunner, JobStore
from pm_platform.kafka import KafkaBus
from pm_platform.lag import ConsumerLagSampler
from pm_platform.logging import configure_logging
from pm_platform.malformed import answer_malformed_requests
from pm_platform.metrics import PROMETHEUS_CONTENT_TYPE, Metrics
from pm_platform.outbox import OutboxRelay, add_event
from pm_platform.reloading import Reloads
from pm_platform.resources import ResourceKey
from pm_platform.settings import InfraSettings, SettingsError, exit_on_settings_error, load_settings
from pm_platform.users import UserData, user_deletion_handlers

S = TypeVar("S", bound=InfraSettings)
T = TypeVar("T")
ResourceFactory = Callable[["Runtime"], AsyncIterator[None]]
# A service's own CLI command: gets the loaded settings and the remaining arguments, returns the exit code.
Command = Callable[[InfraSettings, list[str]], int]


@dataclass
class ServiceDefinition:
    """What makes one service different from the others; everything else is the chassis."""

    name: str
    distribution: str  # the installed package's name, for its version
    schema: str
    settings_cls: type[InfraSettings]
    migrations: Traversable
    routes: Callable[[web.Application, Runtime], None] | None = None
    # Handlers of consumed events; ``user.deleted`` is the chassis's (see ``user_data``).
    event_handlers: EventHandlers = field(default_factory=EventHandlers)
    job_handlers: Mapping[str, JobHandler] = field(default_factory=dict)
    # What the service keeps of each user: erased by the chassis when the user is deleted.
    user_data: UserData = field(default_factory=UserData)
    resources: list[ResourceFactory] = field(default_factory=list)
    health_checks: Callable[[Runtime], list[HealthCheck]] | None = None
    client_max_size: int = 1 << 20
    commands: dict[str, Command] = field(default_factory=dict)
    # Run inside the standard ones (correlation id, metrics, problem+json), in this order.
    middlewares: list[Middleware] = field(default_factory=list)

    @property
    def version(self) -> str:
        try:
            return metadata.version(self.distribution)
        except metadata.PackageNotFoundError:
            return "0.0.0"

    def all_event_handlers(self) -> EventHandlers:
        """The service's handlers and the chassis's (erasing deleted users), checked against the
        registry in both directions (RegistryMismatch otherwise)."""
        handlers = user_deletion_handlers(self.user_data).merged(self.event_handlers)
        check_against_registry(self.name, handlers.event_types)
        return handlers


class Runtime:
    """The live resources of one service process, handed to routes, handlers and jobs."""

    def __init__(self, definition: ServiceDefinition, settings: InfraSettings) -> None:
        self.definition = definition
        self.settings = settings
        self.name = definition.name
        self.schema = definition.schema
        self.instance = f"{definition.name}-{socket.gethostname()}-{os.getpid()}"
        self.metrics = Metrics(definition.name)
        self.jobs = JobStore(
            definition.name, definition.schema, self.metrics, timedelta(seconds=settings.job_lease_s)
        )
        self.bus = KafkaBus(
            settings.kafka_bootstrap_servers,
            client_id=self.instance,
            replication_factor=settings.kafka_replication_factor,
            topic_prefix=settings.kafka_topic_prefix,
        )
        self._pool: asyncpg.Pool | None = None
        self._redis: aioredis.Redis | None = None
        self.applied_migrations: list[str] = []
        self._resources: dict[ResourceKey[Any], Any] = {}
        # Verifies the gateway's X-PM-Identity (require_identity); one per process, for its cache.
        self.identities = IdentityVerifier(settings.identity_public_key_bytes())
        self.identity_keys = IdentityKeys(self.identities)
        # Secret files re-read on SIGHUP and when they change (the identity keys, a service's own).
        self.reloads = Reloads(settings.secret_file_watch_interval_s)
        self.dispatcher: Dispatcher | None = None
        self.relay: OutboxRelay | None = None
        self.job_runner: JobRunner | None = None

    def __getitem__(self, key: ResourceKey[T]) -> T:
        """The resource in ``key``'s slot; RuntimeError when its resource has not started."""
        try:
            return cast(T, self._resources[key])
        except KeyError:
            raise RuntimeError(f"{self.name}: the {key.name} resource is not started") from None

    def __setitem__(self, key: ResourceKey[T], value: T) -> None:
        if not isinstance(value, key.kind):
            raise TypeError(f"{key.name} takes {key.kind.__name__}, not {type(value).__name__}")
        self._resources[key] = value

    def __contains__(self, key: ResourceKey[Any]) -> bool:
        return key in self._resources

    def __delitem__(self, key: ResourceKey[Any]) -> None:
        self._resources.pop(key, None)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is not open")
        return self._pool

    @property
    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            raise RuntimeError("redis is not connected")
        return self._redis

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection in a transaction: state changes and outbox events commit together."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    async def emit(self, conn: asyncpg.Connection, event_type: str, subject: str, data: BaseModel) -> None:
        await add_event(
            conn, schema=self.schema, source=self.name, event_type=event_type, subject=subject, data=data
        )

    def redis_key(self, *parts: str) -> str:
        """Keys are prefixed with the service name: services share Redis, never each other's keys."""
        return ":".join(("pm", self.name, *parts))


RUNTIME = web.AppKey("runtime", Runtime)


async def _secret_files(app: web.Application) -> AsyncIterator[None]:
    """The SIGHUP handler and the file watcher (``rt.reloads``); the identity public keys are its first
    registration when they come from IDENTITY_PUBLIC_KEYS_FILE (a service's own ones follow)."""
    rt = app[RUNTIME]
    path = rt.settings.identity_public_keys_file
    with contextlib.ExitStack() as registrations:
        if path:
            registrations.enter_context(
                rt.reloads.registered(
                    "identity public keys", [path], lambda: rt.identity_keys.reload_public_keys(path)
                )
            )
        async for _ in rt.reloads.run():
            yield


async def _database(app: web.Application) -> AsyncIterator[None]:
    rt = app[RUNTIME]
    settings = rt.settings
    dsn = settings.database_url.get_secret_value()
    conn = await asyncpg.connect(dsn)
    try:
        rt.applied_migrations = await _migrate(conn, rt.definition)
    finally:
        await conn.close()
    rt._pool = await db.create_pool(
        dsn, rt.schema, min_size=settings.database_pool_min, max_size=settings.database_pool_max
    )
    rt.metrics.db_pool_max.set(settings.database_pool_max)
    try:
        yield
    finally:
        try:
            await asyncio.wait_for(rt.pool.close(), 10)
        except TimeoutError:
            logger.warning("database connections still in use after 10s; terminating them")
            rt.pool.terminate()


async def _migrate(conn: asyncpg.Connection, definition: ServiceDefinition) -> list[str]:
    migrations = db.all_migrations(definition.name, definition.migrations)
    await db.migrate(conn, definition.schema, migrations)
    return [m.key for m in migrations]


async def _redis(app: web.Application) -> AsyncIterator[None]:
    rt = app[RUNTIME]
    rt._redis = aioredis.from_url(
        rt.settings.redis_url.get_secret_value(),
        socket_timeout=5,
        socket_connect_timeout=3,
        health_check_interval=30,
    )
    try:
        yield
    finally:
        await rt.redis.aclose()


async def _kafka(app: web.Application) -> AsyncIterator[None]:
    rt = app[RUNTIME]
    handlers = rt.definition.all_event_handlers().bind(rt)
    consumed = [t for t in topics_consumed_by(rt.name) if any(e.type in handlers for e in t.events)]
    rt.dispatcher = Dispatcher(rt.name, rt.pool, rt.metrics, handlers, kafka_dead_letter(rt.bus, rt.name))
    group = rt.settings.kafka_consumer_group or rt.name
    subscribe(rt.bus, rt.dispatcher, consumed, group)
    produced = topics_produced_by(rt.name)
    rt.bus.start_in_background(produced + consumed, [rt.name] if consumed else [])
    # pm_kafka_consumer_lag of the group, once the bus has connected (its topics exist); off when the
    # service consumes nothing or KAFKA_LAG_INTERVAL_S=0.
    lag = ConsumerLagSampler(
        rt.bus.bootstrap_servers,
        f"{rt.instance}-lag",
        {group: [t.name for t in consumed]},
        rt.metrics.kafka_consumer_lag,
        interval_s=rt.settings.kafka_lag_interval_s,
        topic_prefix=rt.bus.topic_prefix,
    )
    lag.start_in_background(ready=rt.bus.connected)
    try:
        yield
    finally:
        await lag.close()
        await rt.bus.close()


async def _background(app: web.Application) -> AsyncIterator[None]:
    """The outbox relay, the job runner and the start-up announcement."""
    rt = app[RUNTIME]
    rt.relay = OutboxRelay(rt.pool, rt.bus, rt.schema, rt.metrics)
    rt.job_runner = JobRunner(
        rt.pool, rt.jobs, rt.definition.job_handlers, rt.settings.worker_concurrency, runtime=rt
    )
    async with rt.transaction() as conn:
        await rt.emit(
            conn,
            "service.started",
            rt.name,
            ServiceStarted(
                service=rt.name,
                instance=rt.instance,
                version=rt.definition.version,
                schema_migrations=rt.applied_migrations,
                started_at=datetime.now(UTC),
            ),
        )
    tasks = [
        asyncio.create_task(rt.relay.run(), name="outbox-relay"),
        asyncio.create_task(rt.job_runner.run(), name="job-runner"),
        asyncio.create_task(_pool_gauges(rt), name="pool-gauges"),
    ]
    for task in tasks:
        task.add_done_callback(_report_unexpected_end)
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _report_unexpected_end(task: asyncio.Task[None]) -> None:
    """A background loop must only end by cancellation at shutdown; anything else is a bug to see."""
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        logger.opt(exception=error).error("background task {} died", task.get_name())
    elif task.get_name() != "job-runner":  # the runner returns at once when it has no job kinds
        logger.error("background task {} ended unexpectedly", task.get_name())


async def _pool_gauges(rt: Runtime) -> None:
    while True:
        rt.metrics.db_pool_size.set(rt.pool.get_size())
        rt.metrics.db_pool_idle.set(rt.pool.get_idle_size())
        await asyncio.sleep(5)


def _resource(factory: ResourceFactory) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async for _ in factory(app[RUNTIME]):
            yield

    return ctx


def default_health_checks(rt: Runtime) -> list[HealthCheck]:
    async def postgres() -> None:
        async with rt.pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")

    async def redis() -> None:
        await rt.redis.ping()  # type: ignore[misc]

    async def outbox() -> dict[str, Any]:
        # Informational: a backlog means Kafka is behind, not that this service cannot serve.
        async with rt.pool.acquire(timeout=2) as conn:
            row = await conn.fetchrow(
                """SELECT count(*) FILTER (WHERE failed_at IS NULL) AS backlog,
                          count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed
                   FROM outbox WHERE published_at IS NULL"""
            )
        assert row is not None
        return {"backlog": row["backlog"], "failed": row["failed"]}

    async def identity_keys() -> dict[str, object]:
        # Which identity keys this process holds (after a reload, the new ones). A refused reload shows
        # as ``reload_error``: a warning, the keys in use still work, so readiness stays up.
        return rt.identity_keys.describe()

    return [
        HealthCheck("postgres", postgres),
        HealthCheck("redis", redis),
        HealthCheck("kafka", rt.bus.ping, timeout_s=3.0),
        HealthCheck("outbox", outbox, informational=True),
        HealthCheck("identity_keys", identity_keys),
    ]


def create_app(definition: ServiceDefinition, settings: InfraSettings) -> web.Application:
    """Build the service's aiohttp application; tests build through this same factory.

    Raises RegistryMismatch when the service's event handlers disagree with proto/topics.
    """
    definition.all_event_handlers()  # refuse to start on a registry mismatch, before anything runs
    rt = Runtime(definition, settings)
    app = web.Application(
        middlewares=[*standard_middlewares(rt.metrics), *definition.middlewares],
        client_max_size=definition.client_max_size,
    )
    app[RUNTIME] = rt
    # Before the service's routes: its own on_response_prepare handlers and refusal headers come after.
    app.on_response_prepare.append(name_the_server)
    answer_malformed_requests(app)
    app[BODY_LIMITS] = BodyLimits(timeout_s=settings.body_timeout_s, min_rate=settings.min_body_rate)
    # The service's resources start before its consumers and stop after them: a handler never finds a
    # resource missing (an event can arrive the moment the bus connects, and until it is closed).
    app.cleanup_ctx.extend([_secret_files, _database, _redis])
    app.cleanup_ctx.extend(_resource(f) for f in definition.resources)
    app.cleanup_ctx.extend([_kafka, _background])

    checks = default_health_checks(rt)
    if definition.health_checks is not None:
        checks.extend(definition.health_checks(rt))
    add_health_routes(app, definition.name, definition.version, checks)
    if settings.enable_metrics:

        async def metrics(_: web.Request) -> web.Response:
            return web.Response(body=rt.metrics.render(), headers={"Content-Type": PROMETHEUS_CONTENT_TYPE})

        app.router.add_get("/metrics", metrics)
    if definition.routes is not None:
        definition.routes(app, rt)
    return app


async def migrate_only(definition: ServiceDefinition, settings: InfraSettings) -> list[str]:
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        migrations = db.all_migrations(definition.name, definition.migrations)
        return await db.migrate(conn, definition.schema, migrations)
    finally:
        await conn.close()


async def _frozen_heap(_: web.Application) -> None:
    """Move the start-up objects out of the collector's sight: the collections that follow only walk
    what requests allocate (a shorter pause in the tail latency)."""
    gc.collect()
    gc.freeze()


def main(definition: ServiceDefinition, argv: list[str] | None = None) -> None:
    """Entry point of ``python -m pm_<name>``."""
    parser = argparse.ArgumentParser(prog=f"python -m {definition.distribution.replace('-', '_')}")
    builtin = ["serve", "migrate", "check-config"]
    parser.add_argument("command", nargs="?", default="serve", choices=[*builtin, *definition.commands])
    args, extra = parser.parse_known_args(argv)
    if extra and args.command in builtin:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        settings = load_settings(definition.settings_cls)
    except SettingsError as error:
        exit_on_settings_error(error, definition.name)
    configure_logging(
        definition.name, settings.log_level, settings.json_logs, secrets=settings.secret_values()
    )
    if args.command == "check-config":
        print(f"{definition.name}: configuration ok")
        return
    if args.command in definition.commands:
        raise SystemExit(definition.commands[args.command](settings, extra))
    if args.command == "migrate":
        try:
            applied = asyncio.run(migrate_only(definition, settings))
        except (OSError, asyncpg.PostgresError, db.MigrationError) as exc:
            print(f"{definition.name}: migration failed: {exc}", file=sys.stderr)
            raise SystemExit(1) from None
        print(f"{definition.name}: {len(applied)} migration(s) applied")
        return
    logger.info("starting {} {} on {}:{}", definition.name, definition.version, settings.host, settings.port)
    # Every service on uvloop (the same asyncio API, a faster loop: less CPU per request, a shorter tail).
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    # Fewer, cheaper garbage collections: each request allocates many short-lived objects, and a full
    # collection walking every long-lived object (modules, settings, caches) stalls every request in
    # flight. The start-up objects are frozen once the service is up (_frozen_heap); cycles are still
    # collected.
    gc.set_threshold(20_000, 20, 20)
    app = create_app(definition, settings)
    app.on_startup.append(_frozen_heap)  # after every resource's start (cleanup contexts come first)
    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            print=None,
            access_log=None,
            shutdown_timeout=settings.shutdown_timeout_s,
            keepalive_timeout=settings.keepalive_timeout_s,
            handle_signals=True,
        )
    except (OSError, asyncpg.PostgresError, db.MigrationError) as exc:
        # Start-up failures an operator can fix (database unreachable, port taken): one line, no traceback.
        print(f"{definition.name}: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
