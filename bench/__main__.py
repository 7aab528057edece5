"""`make bench` (python -m bench): the gateway's cost, measured against a bare aiohttp server.

On the same machine and in the same run:
1. a bare aiohttp "hello" server (bench/hello.py), in a process of its own;
2. a gateway process of the running stack's code and configuration (`make up` must be running: its
   auth, Redis and Kafka are used), on a free port, with the rate limiter ON but its general limit
   raised above the offered load (bench/common.py's RATE_LIMIT_GENERAL) so every request pays for the limiter
   without being refused;
3. a bench user registered and logged in through that gateway (auth issues a real token). The
   measured requests are authenticated and rate-limited GETs: token verification, the rate-limit
   script (per IP and per user, with the revocation check), X-PM-Identity and the proxy:
   - ``GET /api/v1/library/bench`` to a stand-in service: the bench gateway's PLAYLIST_URL points at
     the bare hello server, so this row differs from the bare row by exactly the gateway's work (the
     figure the target is about);
   - ``GET /api/v1/me`` to auth: the real path, including auth's own session and database work.
The load generator (bench/load.py) runs in another process: closed loop for each target's maximum
rate, then open loop against the gateway at fixed rates for its latency. Figures are printed and
written to docs/benchmarks.md (between the gateway-bench markers).

Then the event backbone (bench/outbox.py): the outbox relay's throughput against a bare aiokafka
producer, and the latency from a commit to a consumer's handler, written between the outbox-bench
markers; then the library's operations on a 10,000-entry playlist and its hot read (bench/library.py);
then transfers' provider calls and wall time (bench/transfers.py) and a two-way sync's (bench/sync.py: a
run with nothing changed, and 100 changes a side on 5,000 songs); last the password policy's worst cost
(bench/password_policy.py), playlist files of 100,000 entries in each format (bench/formats.py, no stack
needed), the canonical catalog's clustering of the emulator's catalogs (bench/catalog_clustering.py, no
stack needed, printed only) and the enrichment pipeline (bench/enrichment.py: placing, the fill, MusicBrainz
at 1 call/s and a second library from its cache). ``--only gateway``, ``--only outbox``, ``--only library``, ``--only transfers``,
``--only sync``, ``--only password-policy``, ``--only formats``, ``--only catalog-clustering`` or
``--only enrichment`` runs one of
them.
"""

from __future__ import annotations

import argparse
import os
import platform
from datetime import UTC, datetime

from bench import catalog_clustering, enrichment, formats, library, outbox, password_policy, sync, transfers
from bench.common import (
    BENCH_IP,
    DOC,
    ROOT,
    bench_servers,
    column,
    load,
    median,
    row,
    say,
    write_doc,
)
from pm_devstack.stack import Stack

START, END = "<!-- gateway-bench:start -->", "<!-- gateway-bench:end -->"
OUTBOX_START, OUTBOX_END = "<!-- outbox-bench:start -->", "<!-- outbox-bench:end -->"
POLICY_START, POLICY_END = "<!-- password-policy-bench:start -->", "<!-- password-policy-bench:end -->"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--only",
        choices=[
            "gateway",
            "outbox",
            "password-policy",
            "library",
            "transfers",
            "sync",
            "formats",
            "catalog-clustering",
            "enrichment",
        ],
        help="run one of the benchmarks (default: all)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    enrich = parser.add_argument_group("enrichment")
    enrich.add_argument("--enrichment-songs", type=int, default=5_000, help="songs on each of two services")
    enrich.add_argument(
        "--enrichment-mb-seconds", type=float, default=60.0, help="seconds of MusicBrainz lookups measured"
    )
    gateway = parser.add_argument_group("gateway")
    gateway.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    gateway.add_argument("--concurrency", type=int, default=32)
    gateway.add_argument(
        "--rounds", type=int, default=3, help="alternating closed-loop rounds (the median is kept)"
    )
    events = parser.add_argument_group("outbox")
    events.add_argument(
        "--events", type=int, default=20_000, help="outbox rows per throughput round (pre-written, not timed)"
    )
    events.add_argument(
        "--outbox-rounds",
        type=int,
        default=3,
        help="relay/bare rounds, alternating order (the median is kept)",
    )
    events.add_argument(
        "--latency-rates",
        default="200,100,50",
        help="offered events/s of the latency phase, comma-separated (the target is about the first)",
    )
    events.add_argument("--latency-duration", type=float, default=25.0, help="seconds per offered rate")
    events.add_argument(
        "--consumer-backlog", type=int, default=2000, help="events the consumer drains alone (its capacity)"
    )
    events.add_argument(
        "--profile", action="store_true", help="cProfile one extra (uncounted) relay drain and print it"
    )
    lib = parser.add_argument_group("library")
    lib.add_argument("--library-samples", type=int, default=20, help="runs of each library operation")
    moves = parser.add_argument_group("transfers")
    moves.add_argument(
        "--transfer-tracks", type=int, default=1_000, help="tracks of the transferred playlist"
    )
    syncs = parser.add_argument_group("sync")
    syncs.add_argument("--sync-tracks", type=int, default=5_000, help="songs of each end of the synced link")
    syncs.add_argument("--sync-changes", type=int, default=100, help="changes made on each end before a run")
    policy = parser.add_argument_group("password-policy")
    policy.add_argument("--policy-samples", type=int, default=50, help="passwords per input class")
    args = parser.parse_args()
    try:
        rates = [float(r) for r in args.latency_rates.split(",")]
    except ValueError:
        parser.error("--latency-rates takes numbers separated by commas, e.g. 200,50")
    if args.library_samples < 2:
        parser.error("--library-samples must be at least 2")
    if args.policy_samples < 1:
        parser.error("--policy-samples must be positive")
    if args.outbox_rounds < 1 or args.events < 1 or args.consumer_backlog < 2 or min(rates) <= 0:
        parser.error("--outbox-rounds, --events, --consumer-backlog (≥ 2) and the rates must be positive")
    if args.only in (None, "gateway"):
        _gateway(args)
    if args.only in (None, "outbox"):
        results = outbox.run(
            events=args.events,
            rounds=args.outbox_rounds,
            rates=rates,
            duration_s=args.latency_duration,
            backlog=args.consumer_backlog,
            profile=args.profile,
        )
        if not args.no_write:
            write_doc(outbox.table(results), OUTBOX_START, OUTBOX_END, "Outbox: the event backbone")
            print(f"bench: written to {DOC.relative_to(ROOT)}")
    if args.only in (None, "library"):
        library_table = library.run(args.duration, args.concurrency, args.rounds, args.library_samples)
        if not args.no_write:
            write_doc(library_table, library.START, library.END, "The library")
            print(f"bench: written to {DOC.relative_to(ROOT)}")
    if args.only in (None, "transfers"):
        transfer_table = transfers.run(args.transfer_tracks)
        print(transfer_table)
        if not args.no_write:
            write_doc(
                transfer_table, transfers.START, transfers.END, "Transfers: provider calls and wall time"
            )
            print(f"bench: written to {DOC.relative_to(ROOT)}")
    if args.only in (None, "sync"):
        sync_table = sync.run(args.sync_tracks, args.sync_changes)
        print(sync_table)
        if not args.no_write:
            write_doc(sync_table, sync.START, sync.END, "Sync: provider calls and wall time")
            print(f"bench: written to {DOC.relative_to(ROOT)}")
    if args.only in (None, "formats"):
        formats_table = formats.run()
        print(formats_table)
        if not args.no_write:
            write_doc(
                formats_table, formats.START, formats.END, "Playlist files: 100,000 entries in each format"
            )
            print(f"bench: written to {DOC.relative_to(ROOT)}")
    if args.only in (None, "catalog-clustering"):
        # Printed only: no stack needed, and docs/catalog.md ("Clustering (domain)") keeps the figures.
        print(catalog_clustering.run())
    if args.only in (None, "enrichment"):
        enrichment.run(args.enrichment_songs, args.enrichment_mb_seconds, write=not args.no_write)
    if args.only in (None, "password-policy"):
        policy_table = password_policy.table(password_policy.run(args.policy_samples), args.policy_samples)
        print(policy_table)
        if not args.no_write:
            write_doc(policy_table, POLICY_START, POLICY_END, "The password policy's cost")
            print(f"bench: written to {DOC.relative_to(ROOT)}")


def _gateway(args: argparse.Namespace) -> None:
    # The bench gateway's PLAYLIST_URL is the hello server: a stand-in service.
    with bench_servers(Stack.from_env(), "auth", "http://127.0.0.1:{hello_port}") as servers:
        hello_url, gateway, token = servers.hello_url, servers.gateway, servers.token
        auth = {"Authorization": f"Bearer {token}", "X-Forwarded-For": BENCH_IP}
        stand_in, me = f"{gateway}/api/v1/library/bench", f"{gateway}/api/v1/me"
        print(f"bench: {args.duration:.0f}s per run; closed loop: {args.concurrency} connections", flush=True)
        # Alternating rounds, the median of each: other work on a shared machine hits both alike.
        bares, throughs = [], []
        for _ in range(args.rounds):
            bares.append(load(hello_url, duration=args.duration, concurrency=args.concurrency))
            say("bare aiohttp hello", bares[-1])
            throughs.append(
                load(stand_in, duration=args.duration, concurrency=args.concurrency, headers=auth)
            )
            say("gateway -> stand-in service", throughs[-1])
        bare, through = median(bares), median(throughs)
        target_rate = 0.5 * 0.2 * bare["rps"]  # "p99 under 25 ms at half" the 20%-of-bare target rate
        # The p99 of one 10 s window on a shared VM swings with its neighbours (6 to 50 ms seen for the
        # same build): the median of the rounds, as for the rates.
        at_targets = []
        for _ in range(args.rounds):
            at_targets.append(load(stand_in, duration=args.duration, rate=target_rate, headers=auth))
            say(f"  open loop at {target_rate:.0f}/s", at_targets[-1])
        at_target = median(at_targets, "p99_ms", upper=True)
        half_own = 0.5 * through["rps"]
        at_half = load(stand_in, duration=args.duration, rate=half_own, headers=auth)
        say(f"  open loop at {half_own:.0f}/s", at_half)
        to_auth = load(me, duration=args.duration, concurrency=args.concurrency, headers=auth)
        say("gateway -> auth GET /me", to_auth)
        auth_half = 0.5 * to_auth["rps"]
        to_auth_half = load(me, duration=args.duration, rate=auth_half, headers=auth)
        say(f"  open loop at {auth_half:.0f}/s", to_auth_half)

    ratio = through["rps"] / bare["rps"] if bare["rps"] else 0.0
    verdict_rate = "met" if ratio >= 0.2 else "NOT met"
    verdict_p99 = "met" if at_target["p99_ms"] < 25 else "NOT met"
    print(
        f"bench: medians of {args.rounds} rounds: bare {bare['rps']:.0f} req/s, gateway {through['rps']:.0f} "
        f"req/s; gateway/bare = {ratio:.1%} (target ≥ 20%: {verdict_rate})\n"
        f"bench: p99 at {target_rate:.0f}/s (10% of bare) = {at_target['p99_ms']:.2f} ms "
        f"(target < 25 ms: {verdict_p99})"
    )
    table = "\n".join(
        [
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'} "
            f"({os.cpu_count()} cores, Python {platform.python_version()}), `make bench`, {args.duration:.0f} s per row "
            f"after 1 s of warm-up (closed loop and the open loop at 10% of bare: the median of {args.rounds} rounds); the load "
            "generator (a process of its own), the bare server, the gateway, auth and Redis share the cores. "
            f"Both servers are single processes on uvloop; closed-loop rounds: bare "
            f"{column(bares, 'rps', 0)}, gateway {column(throughs, 'rps', 0)} req/s; open loop at 10% of bare, p99 of each round: "
            f"{column(at_targets, 'p99_ms', 1)} ms (the median kept).",
            "",
            "| target | offered load | req/s | p50 ms | p95 ms | p99 ms | ok/sent |",
            "|---|---|---:|---:|---:|---:|---:|",
            row("bare aiohttp `GET /hello`", bare, f"closed loop, {args.concurrency} connections"),
            row("gateway → stand-in service", through, f"closed loop, {args.concurrency} connections"),
            row("gateway → stand-in service", at_target, f"open loop, {target_rate:.0f}/s (10% of bare)"),
            row("gateway → stand-in service", at_half, f"open loop, {half_own:.0f}/s (50% of its max)"),
            row("gateway → auth `GET /api/v1/me`", to_auth, f"closed loop, {args.concurrency} connections"),
            row(
                "gateway → auth `GET /api/v1/me`",
                to_auth_half,
                f"open loop, {auth_half:.0f}/s (50% of its max)",
            ),
            "",
            f"Gateway path / bare server: **{ratio:.1%}** (target ≥ 20%: {verdict_rate}). "
            f"p99 at half the target rate: **{at_target['p99_ms']:.2f} ms** (target < 25 ms: {verdict_p99}).",
        ]
    )
    if not args.no_write:
        write_doc(table, START, END, "Gateway")
        print(f"bench: written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
