"""The event backbone, measured (`python -m bench --only outbox`): the outbox relay against a bare
aiokafka producer, and the latency from a commit to a consumer's handler.

Everything runs against the native stack's PostgreSQL and Kafka (`make up`), in a throwaway database
(the playlist role and schema, platform migrations) and throwaway topics under a unique prefix, all
dropped at the end, on asyncio's own loop as the services other than the gateway.

1. **Relay throughput** (this process). Each round pre-writes N ``job.updated`` rows through the real
   :func:`pm_platform.outbox.add_event`, 100 per transaction (not timed), then times:
   - the real :class:`pm_platform.outbox.OutboxRelay` draining them through the real
     :class:`pm_platform.kafka.KafkaBus`, from the relay's start until every row is published (acknowledged, deleted)
     (Kafka acknowledged it, acks=all);
   - a bare ``AIOKafkaProducer(enable_idempotence=True, acks="all")`` sending the same records (the
     relay's envelope bytes, keys and headers, built before the clock starts) to a topic of the same
     configuration, all in flight at once, until every send is acknowledged.
   The two alternate in order from round to round; rates are the median round of each, the ratio the
   median of the rounds' ratios (each round's two figures are measured back to back). The process's
   CPU time per event is recorded too: steadier than rates when other work shares the cores.
2. **Commit → handler latency.** A consumer in a process of its own, as a consuming service
   (bench/outbox_consumer.py: the platform's :class:`pm_platform.consumers.Dispatcher` registered
   with :func:`pm_platform.consumers.subscribe` on a bus of its own). First its capacity: a backlog
   committed and published before it starts, handled as fast as it goes. Then, per offered rate, an
   open-loop producer here commits one event per transaction through ``add_event`` (each commit
   starts on schedule, whatever the previous one did), the relay publishes, the consumer handles.
   Latency = the handler's start - the producer's return from COMMIT, both on CLOCK_MONOTONIC (one
   clock for every process), matched by event id; split at the Kafka record's CreateTime (when the
   relay handed it to the producer) into commit → send and send → handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import os
import platform
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from loguru import logger

from pm_contracts.envelope import Envelope
from pm_contracts.jobs import JobUpdated
from pm_contracts.registry import topic
from pm_devstack.bootstrap import bootstrap_database
from pm_devstack.errors import DevstackError
from pm_devstack.stack import InfraEndpoints, Stack
from pm_platform import db
from pm_platform.kafka import KafkaBus, event_headers
from pm_platform.metrics import Metrics
from pm_platform.outbox import OutboxRelay, add_event

SCHEMA = "playlist"  # the bench borrows the playlist service's role and schema, in a database of its own
SOURCE = "playlist"
EVENT_TYPE = "job.updated"
TOPIC = topic("pm.jobs")
CONSUMER = "bench-consumer"  # the consuming "service" of the latency phase (its inbox rows, dead letters)
PER_TRANSACTION = 100  # pre-written rows per transaction
WRITERS = 4  # concurrent pre-writers, each with subjects of its own (no advisory-lock waits between them)
EVENTS_PER_JOB = 20  # rows per subject (job id): several events per key, as a job reports progress
POOL_MAX = 10  # a service's default DATABASE_POOL_MAX
THROUGHPUT_TARGET = 0.5  # relay ≥ 50% of the bare producer's events/s
P99_TARGET_MS = 100.0  # commit → handler p99 at the first offered rate
DRAIN_TIMEOUT_S = 60.0  # after an open loop, how long the last events may take to be handled

Record = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers as aiokafka takes them


@dataclass
class Rate:
    events: int
    seconds: float
    cpu_s: float = 0.0  # CPU time of the process doing the work (user + system), over the same span

    @property
    def per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        """CPU per event: steadier than rates on a shared machine (time others take is not counted)."""
        return self.cpu_s / self.events * 1e6 if self.events else 0.0


@dataclass
class Latency:
    rate: float
    duration_s: float
    committed: int
    handled: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    to_send_ms: tuple[float, float]  # p50, p99 of commit → the relay's send (the record's CreateTime)
    to_handler_ms: tuple[float, float]  # p50, p99 of the relay's send → the handler's start
    producer_cpu_us: float  # this process (producer and relay) per event
    consumer_cpu_us: float  # the consumer's process per event (its idle polling included)
    commit_p99_ms: float  # the producer's own transaction (BEGIN … add_event … COMMIT)
    start_lag_max_ms: float  # how late a commit started against its schedule (the producer's health)

    @property
    def complete(self) -> bool:
        return self.handled == self.committed


@dataclass
class Results:
    events: int
    bares: list[Rate] = field(default_factory=list)
    relays: list[Rate] = field(default_factory=list)
    write_rates: list[Rate] = field(default_factory=list)
    capacity: Rate | None = None  # the consumer alone on a backlog
    latencies: list[Latency] = field(default_factory=list)

    @property
    def bare(self) -> Rate:
        return _median_rate(self.bares)

    @property
    def relay(self) -> Rate:
        return _median_rate(self.relays)

    @property
    def ratios(self) -> list[float]:
        """relay / bare events/s of each round (measured back to back)."""
        return [r.per_s / b.per_s if b.per_s else 0.0 for r, b in zip(self.relays, self.bares, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def throughput_met(self) -> bool:
        return self.ratio >= THROUGHPUT_TARGET

    @property
    def latency_met(self) -> bool:
        first = self.latencies[0]
        return first.complete and first.p99_ms <= P99_TARGET_MS


def _median_rate(rates: list[Rate]) -> Rate:
    ordered = sorted(rates, key=lambda r: r.per_s)
    return ordered[(len(ordered) - 1) // 2]


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))]


def _job(job_id: uuid.UUID, user_id: uuid.UUID, step: int, steps: int) -> JobUpdated:
    now = datetime.now(UTC)
    return JobUpdated(
        job_id=job_id,
        service=SOURCE,
        kind="bench.outbox",
        user_id=user_id,
        state="running",
        progress=min(1.0, step / steps),
        message=f"step {step} of {steps}",
        created_at=now,
        updated_at=now,
        started_at=now,
    )


def _now() -> float:
    """CLOCK_MONOTONIC: the same clock in the consumer's process (bench/outbox_consumer.py)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


async def _wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = _now() + timeout_s
    while not condition():
        if _now() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


class Bench:
    def __init__(self, stack: Stack, infra: InfraEndpoints, run: str) -> None:
        self.stack = stack
        self.infra = infra
        self.run = run
        self.prefix = f"bench-{run}."  # every topic of this run starts with it (deleted at the end)
        self.database = f"pm_bench_{run}"
        self.dsn = ""
        self.pools: list[asyncpg.Pool] = []

    # ---- set-up and tear-down ------------------------------------------------------------------------

    async def create_database(self) -> None:
        password = self.stack.secrets.role_password(SCHEMA)
        role = f"pm_{SCHEMA}"
        await asyncio.to_thread(
            bootstrap_database, self.infra.admin_dsn, self.database, {SCHEMA: (role, password)}
        )
        host_port = self.infra.admin_dsn.rsplit("@", 1)[1].rsplit("/", 1)[0]
        self.dsn = f"postgresql://{role}:{password}@{host_port}/{self.database}"
        conn = await asyncpg.connect(self.dsn)
        try:
            await db.migrate(conn, SCHEMA, db.read_migrations("platform", db.PLATFORM_MIGRATIONS))
        finally:
            await conn.close()

    async def pool(self) -> asyncpg.Pool:
        pool = await db.create_pool(self.dsn, SCHEMA, min_size=2, max_size=POOL_MAX)
        self.pools.append(pool)
        return pool

    async def cleanup(self) -> None:
        for pool in self.pools:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), 10)
        try:
            conn = await asyncpg.connect(self.infra.admin_dsn)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"bench: could not drop database {self.database}: {exc}", file=sys.stderr)
        admin = AIOKafkaAdminClient(bootstrap_servers=self.infra.kafka_bootstrap, client_id="bench-cleanup")
        try:
            await admin.start()
            doomed = [t for t in await admin.list_topics() if t.startswith(self.prefix)]
            if doomed:
                await admin.delete_topics(doomed)
        except Exception as exc:  # noqa: BLE001 - report and go on: the figures are already in
            print(
                f"bench: could not delete topics {self.prefix}*: {type(exc).__name__}: {exc}", file=sys.stderr
            )
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    async def bus(self, prefix: str, client_id: str) -> KafkaBus:
        bus = KafkaBus(self.infra.kafka_bootstrap, client_id=client_id, topic_prefix=prefix)
        bus.start_in_background([TOPIC], [])
        await asyncio.wait_for(bus.connected.wait(), 60)
        return bus

    # ---- writing the outbox ----------------------------------------------------------------------------

    async def prewrite(self, pool: asyncpg.Pool, n: int) -> Rate:
        """Commit ``n`` rows through add_event, PER_TRANSACTION to a transaction, WRITERS at once."""
        started = time.perf_counter()

        async def writer(share: int) -> None:
            user_id = uuid.uuid4()
            jobs = [uuid.uuid4() for _ in range(max(1, share // EVENTS_PER_JOB))]
            done = 0
            async with pool.acquire() as conn:
                while done < share:
                    async with conn.transaction():
                        for i in range(done, min(share, done + PER_TRANSACTION)):
                            job = jobs[i % len(jobs)]
                            await add_event(
                                conn,
                                schema=SCHEMA,
                                source=SOURCE,
                                event_type=EVENT_TYPE,
                                subject=str(job),
                                data=_job(job, user_id, i // len(jobs) + 1, EVENTS_PER_JOB),
                            )
                    done = min(share, done + PER_TRANSACTION)

        shares = [n // WRITERS + (1 if w < n % WRITERS else 0) for w in range(WRITERS)]
        await asyncio.gather(*(writer(s) for s in shares if s))
        return Rate(n, time.perf_counter() - started)

    # ---- throughput ----------------------------------------------------------------------------------

    async def relay_drain(self, pool: asyncpg.Pool, bus: KafkaBus, n: int) -> Rate:
        """Start a relay over ``n`` unpublished rows; time it until all are published (acknowledged, deleted)."""
        relay = OutboxRelay(pool, bus, SCHEMA, Metrics("bench-relay"))
        cpu = time.process_time()
        started = time.perf_counter()
        task = asyncio.create_task(relay.run(), name="bench-outbox-relay")
        try:
            deadline = started + 600
            while relay.published_total < n:
                if task.done():
                    task.result()
                    raise RuntimeError("the relay stopped")
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"the relay published {relay.published_total} of {n} in 600 s")
                await asyncio.sleep(0.005)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with pool.acquire() as conn:
            left = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        if left:
            raise RuntimeError(f"{left} outbox rows left unpublished")
        return Rate(relay.published_total, elapsed, cpu)

    async def records(self, pool: asyncpg.Pool, n: int) -> list[Record]:
        """The last ``n`` rows as the relay sends them: (key, envelope bytes, headers)."""
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT partition_key, envelope::text AS envelope FROM outbox
                   ORDER BY seq DESC LIMIT $1""",
                n,
            )
        out = []
        for row in reversed(rows):
            envelope = Envelope.model_validate_json(row["envelope"])
            headers = [(k, v.encode()) for k, v in event_headers(envelope).items()]
            out.append((row["partition_key"].encode(), envelope.model_dump_json().encode(), headers))
        return out

    async def bare_send(
        self,
        producer: AIOKafkaProducer,
        name: str,
        records: list[Record],
    ) -> Rate:
        cpu = time.process_time()
        started = time.perf_counter()
        pending = [
            await producer.send(name, value, key=key, headers=headers) for key, value, headers in records
        ]
        await asyncio.gather(*pending)
        return Rate(len(records), time.perf_counter() - started, time.process_time() - cpu)

    async def throughput(
        self, results: Results, n: int, rounds: int, profile: bool, say: Callable[[str], None]
    ) -> None:
        pool = await self.pool()
        bus = await self.bus(self.prefix, f"bench-relay-{self.run}")
        bare_bus = KafkaBus(
            self.infra.kafka_bootstrap, client_id="bench-bare", topic_prefix=self.prefix + "bare."
        )
        await bare_bus.ensure_topics([TOPIC])  # the same partitions and configuration as the relay's topic
        bare_topic = bare_bus.topic(TOPIC.name)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.infra.kafka_bootstrap,
            client_id=f"bench-bare-{self.run}",
            enable_idempotence=True,
            acks="all",
        )
        await producer.start()
        try:
            for r in range(rounds):
                written = await self.prewrite(pool, n)
                results.write_rates.append(written)
                records = await self.records(pool, n)
                for relay_turn in (r % 2 == 1, r % 2 == 0):
                    if relay_turn:
                        name, rate = "outbox relay (KafkaBus)", await self.relay_drain(pool, bus, n)
                        results.relays.append(rate)
                    else:
                        name, rate = (
                            "bare aiokafka producer",
                            await self.bare_send(producer, bare_topic, records),
                        )
                        results.bares.append(rate)
                    say(
                        f"  round {r + 1}: {name:<24} {rate.events} events in {rate.seconds:6.2f} s "
                        f"= {rate.per_s:8.0f} ev/s, {rate.cpu_us:5.0f} µs CPU/event"
                    )
                say(
                    f"  round {r + 1}: (pre-written through add_event at {written.per_s:.0f} rows/s, not timed)"
                )
            if profile:
                await self.prewrite(pool, n)
                profiler = cProfile.Profile()
                profiler.enable()
                rate = await self.relay_drain(pool, bus, n)
                profiler.disable()
                say(f"  profiled relay drain (not counted): {rate.per_s:.0f} ev/s under cProfile")
                for key in ("tottime", "cumulative"):
                    out = io.StringIO()
                    pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(30)
                    say(out.getvalue())
        finally:
            await producer.stop()
            await bus.close()

    # ---- latency -------------------------------------------------------------------------------------

    async def latency(
        self,
        results: Results,
        rates: list[float],
        duration_s: float,
        backlog: int,
        say: Callable[[str], None],
    ) -> None:
        prefix = self.prefix + "lat."  # topics of their own: the consumer starts from the earliest offset
        pool = await self.pool()
        bus = await self.bus(prefix, f"bench-producer-{self.run}")
        relay = OutboxRelay(pool, bus, SCHEMA, Metrics("bench-producer"))
        relay_task = asyncio.create_task(relay.run(), name="bench-outbox-relay")
        consumer: _Consumer | None = None
        try:
            # The consumer's capacity: a backlog committed and published before it starts, handled as
            # fast as it goes (after it joined its group: from the first handled event to the last).
            await self.prewrite(pool, backlog)
            if not await _wait_for(lambda: relay.published_total >= backlog, 120):
                raise TimeoutError(f"the relay published {relay.published_total} of {backlog} in 120 s")
            consumer = started = await _Consumer.start(self, prefix)
            cpu_before = await started.cpu()
            if not await _wait_for(lambda: len(started.handled) >= backlog, 180):
                raise TimeoutError(f"the consumer handled {len(started.handled)} of {backlog} in 180 s")
            cpu_after = await started.cpu()
            times = sorted(started.handled.values())
            # Its CPU from the start of work to the end of the backlog (a little idle polling included).
            results.capacity = Rate(backlog - 1, times[-1] - times[0], cpu_after - cpu_before)
            say(
                f"  consumer alone on a backlog of {backlog}: {results.capacity.per_s:.0f} events/s, "
                f"{results.capacity.cpu_us:.0f} µs CPU/event"
            )
            for rate in rates:
                await asyncio.sleep(1.0)
                latency = await self.open_loop(pool, started, rate, duration_s, say)
                results.latencies.append(latency)
                say(
                    f"  {rate:.0f}/s: p50 {latency.p50_ms:.1f}, p95 {latency.p95_ms:.1f}, p99 "
                    f"{latency.p99_ms:.1f}, max {latency.max_ms:.1f} ms; handled "
                    f"{latency.handled}/{latency.committed}; commit → send p50/p99 "
                    f"{latency.to_send_ms[0]:.1f}/{latency.to_send_ms[1]:.1f} ms, send → handler "
                    f"{latency.to_handler_ms[0]:.1f}/{latency.to_handler_ms[1]:.1f} ms"
                )
        finally:
            if consumer is not None:
                await consumer.stop()
            relay_task.cancel()
            await asyncio.gather(relay_task, return_exceptions=True)
            await bus.close()

    async def open_loop(
        self,
        pool: asyncpg.Pool,
        consumer: _Consumer,
        rate: float,
        duration_s: float,
        say: Callable[[str], None],
    ) -> Latency:
        """Commit one event per transaction at ``rate``/s for ``duration_s``; wait until all are handled."""
        committed: dict[str, tuple[float, float]] = {}  # event id → (CLOCK_MONOTONIC, wall clock)
        commit_ms: list[float] = []
        lags: list[float] = []
        user_id = uuid.uuid4()
        jobs = [uuid.uuid4() for _ in range(64)]

        async def commit_one(i: int) -> None:
            job = jobs[i % len(jobs)]
            began = _now()
            async with pool.acquire() as conn:
                async with conn.transaction():
                    envelope = await add_event(
                        conn,
                        schema=SCHEMA,
                        source=SOURCE,
                        event_type=EVENT_TYPE,
                        subject=str(job),
                        data=_job(job, user_id, i, max(i, 1)),
                    )
                done = _now()
                committed[str(envelope.id)] = (done, time.time())
            commit_ms.append((done - began) * 1000)

        consumer.handled.clear()
        consumer.handled_wall.clear()
        consumer_cpu = await consumer.cpu()
        cpu = time.process_time()
        n = int(rate * duration_s)
        say(f"  open loop: {n} events at {rate:.0f}/s, one per transaction")
        tasks: list[asyncio.Task[None]] = []
        start = _now() + 0.05
        for i in range(n):
            at = start + i / rate
            delay = at - _now()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append(_now() - at)
            tasks.append(asyncio.create_task(commit_one(i + 1)))
        await asyncio.gather(*tasks)
        handled = consumer.handled
        # Only this loop's events reach the handler now (unless an earlier rate's last ones came late).
        await _wait_for(lambda: len(handled) >= len(committed), DRAIN_TIMEOUT_S)
        cpu = time.process_time() - cpu  # the relay's work included: every event was published
        consumer_cpu = await consumer.cpu() - consumer_cpu
        latencies = sorted((handled[i] - t[0]) * 1000 for i, t in committed.items() if i in handled)
        walls = consumer.handled_wall
        # Kafka's CreateTime has millisecond resolution: these two legs are ±1 ms.
        known = {i: walls[i] for i in committed if i in walls and walls[i][1]}  # CreateTime found
        to_send = sorted((sent - committed[i][1]) * 1000 for i, (_, sent) in known.items())
        to_handler = sorted((wall - sent) * 1000 for wall, sent in known.values())
        return Latency(
            rate=rate,
            duration_s=duration_s,
            committed=len(committed),
            handled=len(latencies),
            p50_ms=_percentile(latencies, 0.50),
            p95_ms=_percentile(latencies, 0.95),
            p99_ms=_percentile(latencies, 0.99),
            max_ms=latencies[-1] if latencies else float("nan"),
            to_send_ms=(_percentile(to_send, 0.5), _percentile(to_send, 0.99)),
            to_handler_ms=(_percentile(to_handler, 0.5), _percentile(to_handler, 0.99)),
            producer_cpu_us=cpu / n * 1e6 if n else 0.0,
            consumer_cpu_us=consumer_cpu / n * 1e6 if n else 0.0,
            commit_p99_ms=_percentile(sorted(commit_ms), 0.99),
            start_lag_max_ms=max(lags, default=0.0) * 1000,
        )


class _Consumer:
    """The consumer process (bench/outbox_consumer.py): what it handled, and its CPU time on demand."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self.proc = proc
        self.handled: dict[str, float] = {}  # event id → CLOCK_MONOTONIC at the handler's start
        # event id → (wall clock at the handler's start, the Kafka record's CreateTime in seconds)
        self.handled_wall: dict[str, tuple[float, float]] = {}
        self._cpu: asyncio.Queue[float] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(proc.stdout))

    @classmethod
    async def start(cls, bench: Bench, prefix: str) -> _Consumer:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.outbox_consumer",
            SCHEMA,
            bench.infra.kafka_bootstrap,
            prefix,
            f"{CONSUMER}-{bench.run}",
            CONSUMER,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "BENCH_DATABASE_URL": bench.dsn},
        )
        assert proc.stdout is not None
        try:
            ready = await asyncio.wait_for(proc.stdout.readline(), 90)
        except TimeoutError:
            ready = b"(nothing within 90 s)"
        if ready.strip() != b"ready":
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"the consumer did not start: {ready!r}")
        return cls(proc)

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            fields = line.decode().split()
            if fields[0] == "cpu":
                self._cpu.put_nowait(float(fields[1]))
            elif fields[0] not in self.handled:
                self.handled[fields[0]] = float(fields[1])
                self.handled_wall[fields[0]] = (float(fields[2]), int(fields[3]) / 1000)

    async def cpu(self) -> float:
        """The consumer process's CPU time so far, in seconds."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"cpu\n")
        await self.proc.stdin.drain()
        return await asyncio.wait_for(self._cpu.get(), 30)

    async def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


async def measure(
    *,
    events: int,
    rounds: int,
    rates: list[float],
    duration_s: float,
    backlog: int = 2000,
    profile: bool = False,
    say: Callable[[str], None] | None = None,
) -> Results:
    say = say or _say
    stack = Stack.from_env()
    infra = stack.infra_endpoints()
    bench = Bench(stack, infra, uuid.uuid4().hex[:8])
    results = Results(events)
    say(f"bench outbox: database {bench.database}, topics {bench.prefix}*")
    try:
        await bench.create_database()
        say(f"bench outbox: relay throughput, {events} events per round, {rounds} rounds")
        await bench.throughput(results, events, rounds, profile, say)
        say(f"bench outbox: commit → handler latency, {duration_s:.0f} s at each of {rates} events/s")
        await bench.latency(results, rates, duration_s, backlog, say)
    finally:
        await bench.cleanup()
    return results


def _say(line: str) -> None:
    print(line, flush=True)


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def summary(results: Results) -> str:
    bare, relay, capacity = results.bare, results.relay, results.capacity
    assert capacity is not None
    first = results.latencies[0]
    lines = [
        f"bench outbox: medians of {len(results.relays)} rounds: relay {relay.per_s:.0f} ev/s, bare "
        f"{bare.per_s:.0f} ev/s; relay/bare = {results.ratio:.1%} (rounds: "
        f"{', '.join(f'{r:.1%}' for r in results.ratios)}; target ≥ 50%: {_verdict(results.throughput_met)}); "
        f"CPU per event: relay {relay.cpu_us:.0f} µs, bare {bare.cpu_us:.0f} µs",
        f"bench outbox: consumer alone on a backlog: {capacity.per_s:.0f} events/s, {capacity.cpu_us:.0f} µs "
        "CPU/event",
    ]
    lines += [
        f"bench outbox: commit → handler at {lat.rate:.0f}/s: p50 {lat.p50_ms:.1f}, p95 {lat.p95_ms:.1f}, "
        f"p99 {lat.p99_ms:.1f}, max {lat.max_ms:.1f} ms; handled {lat.handled}/{lat.committed}; CPU/event: "
        f"producer+relay {lat.producer_cpu_us:.0f} µs, consumer {lat.consumer_cpu_us:.0f} µs"
        for lat in results.latencies
    ]
    lines.append(
        f"bench outbox: p99 at {first.rate:.0f}/s = {first.p99_ms:.1f} ms "
        f"(target ≤ 100 ms: {_verdict(results.latency_met)})"
    )
    return "\n".join(lines)


def table(results: Results) -> str:
    bare, relay, capacity = results.bare, results.relay, results.capacity
    assert capacity is not None
    first = results.latencies[0]
    column = ", ".join
    return "\n".join(
        [
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'} "
            f"({os.cpu_count()} cores, Python {platform.python_version()}), `python -m bench --only outbox`, "
            "asyncio's own loop, against the stack's PostgreSQL and Kafka (one broker) in a throwaway "
            "database and topics.",
            "",
            "**Relay throughput** (one process). Each round pre-writes "
            f"{results.events:,} `job.updated` rows through `add_event` ({PER_TRANSACTION} per transaction, "
            f"{WRITERS} writers, {results.events // EVENTS_PER_JOB:,} keys; not timed, "
            f"{statistics.median(r.per_s for r in results.write_rates):,.0f} rows/s), then times the relay "
            "from its start until every row is published (acknowledged, deleted), and a bare idempotent producer sending "
            "the same records (same envelope bytes, keys and headers; all in flight, then every ack "
            f"awaited); the order alternates by round. Rates: the median of {len(results.relays)} rounds; "
            "CPU: the process's CPU time per event over the same span (steadier than rates when other "
            "work shares the cores).",
            "",
            "| path | events/s (rounds) | median | CPU µs/event (rounds) |",
            "|---|---|---:|---|",
            f'| bare `AIOKafkaProducer(enable_idempotence=True, acks="all")` | '
            f"{column(f'{r.per_s:,.0f}' for r in results.bares)} | {bare.per_s:,.0f} | "
            f"{column(f'{r.cpu_us:.0f}' for r in results.bares)} |",
            f"| outbox rows → `OutboxRelay` → `KafkaBus` → published, rows deleted | "
            f"{column(f'{r.per_s:,.0f}' for r in results.relays)} | {relay.per_s:,.0f} | "
            f"{column(f'{r.cpu_us:.0f}' for r in results.relays)} |",
            "",
            f"Relay / bare producer: **{results.ratio:.1%}** (the median of the rounds' ratios "
            f"{column(f'{r:.1%}' for r in results.ratios)}; target ≥ 50%: {_verdict(results.throughput_met)}). "
            f"CPU per event: the relay {relay.cpu_us / bare.cpu_us if bare.cpu_us else 0:.1f} times the bare "
            "producer's.",
            "",
            "**Commit → handler latency.** A consumer in a process of its own, as a consuming service "
            "(`Dispatcher` + `subscribe` on a bus of its own: its pool, consumer group and inbox). Open "
            f"loop, {first.duration_s:.0f} s per rate: one event per transaction through `add_event`, each "
            "committed on schedule; the relay publishing; latency = handler start - return from COMMIT "
            "(CLOCK_MONOTONIC in both processes), split at the Kafka record's CreateTime (±1 ms) into commit "
            "→ the relay's send and send → handler. CPU per event: this process (producer and relay) and "
            "the consumer's.",
            "",
            "| offered load | handled | p50 ms | p95 ms | p99 ms | max ms | commit → send p50 / p99 ms "
            "| send → handler p50 / p99 ms | CPU µs/event producer+relay / consumer |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            *(
                f"| {lat.rate:.0f} events/s | {lat.handled}/{lat.committed} | {lat.p50_ms:.1f} | "
                f"{lat.p95_ms:.1f} | {lat.p99_ms:.1f} | {lat.max_ms:.1f} | {lat.to_send_ms[0]:.1f} / "
                f"{lat.to_send_ms[1]:.1f} | {lat.to_handler_ms[0]:.1f} / {lat.to_handler_ms[1]:.1f} | "
                f"{lat.producer_cpu_us:,.0f} / {lat.consumer_cpu_us:,.0f} |"
                for lat in results.latencies
            ),
            "",
            f"The consumer alone, on a backlog of {capacity.events + 1:,} events published before it "
            f"started: **{capacity.per_s:,.0f} events/s**, {capacity.cpu_us:,.0f} µs of its CPU per event.",
            "",
            f"p99 commit → handler at {first.rate:.0f} events/s: **{first.p99_ms:.1f} ms** (target ≤ 100 ms: "
            f"{_verdict(results.latency_met)}).",
        ]
    )


def run(
    *,
    events: int,
    rounds: int,
    rates: list[float],
    duration_s: float,
    backlog: int = 2000,
    profile: bool = False,
) -> Results:
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    try:
        results = asyncio.run(
            measure(
                events=events,
                rounds=rounds,
                rates=rates,
                duration_s=duration_s,
                backlog=backlog,
                profile=profile,
            )
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, DevstackError) as exc:
        raise SystemExit(
            f"bench outbox: {type(exc).__name__}: {exc} (PostgreSQL and Kafka of `make up` must be running)"
        ) from None
    print(summary(results), flush=True)
    return results
