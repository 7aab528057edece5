"""``python -m pm_devstack <command>``: up, down, status, env, migrate, restart, stop, scratch, demo."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pm_devstack import demo, lifecycle
from pm_devstack.errors import DevstackError
from pm_devstack.scratch import run_on_scratch_database
from pm_devstack.stack import Stack


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pm-devstack",
        description="Playlist Manager's native local stack (PostgreSQL, Redis, Kafka, SeaweedFS, services).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    up = commands.add_parser("up", help="install what is missing, start everything, wait until healthy")
    up.add_argument("--infra-only", action="store_true", help="only PostgreSQL, Redis, Kafka and S3")
    up.add_argument("--no-emulator", action="store_true", help="do not start the dev services (emulator)")
    up.add_argument("--migrate", action="store_true", help="run each service's migrations before serving")

    commands.add_parser("down", help="stop everything (services first, then infrastructure)")

    status = commands.add_parser("status", help="one line per component; exit 0 only if all are healthy")
    status.add_argument("--infra-only", action="store_true", help="only check the infrastructure")

    env = commands.add_parser("env", help="print a service's environment as KEY=VALUE lines")
    env.add_argument("service")

    commands.add_parser("migrate", help="run `python -m <package> migrate` for each service")

    restart = commands.add_parser("restart", help="stop and start one component (infra or service)")
    restart.add_argument("component")

    stop = commands.add_parser("stop", help="stop some components (e.g. the services, to run one by hand)")
    stop.add_argument("components", nargs="+", metavar="component")

    commands.add_parser("demo", help="the main journey through the public API, step by step (after up)")

    scratch = commands.add_parser(
        "scratch", help="run a service's command on a throwaway database of its own (migrated, then dropped)"
    )
    scratch.add_argument("service")
    scratch.add_argument("service_command", nargs=argparse.REMAINDER, metavar="-- command ...")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    say = print
    stack = Stack.from_env()
    if args.command == "up":
        lifecycle.up(
            stack, infra_only=args.infra_only, include_dev=not args.no_emulator, migrate_first=args.migrate
        )
    elif args.command == "down":
        lifecycle.down(stack)
    elif args.command == "status":
        statuses = lifecycle.status(stack, infra_only=args.infra_only)
        for status in statuses:
            say(status.line())
        return 0 if all(status.running and status.healthy for status in statuses) else 1
    elif args.command == "env":
        for key, value in stack.service_env(args.service).items():
            say(f"{key}={value}")
    elif args.command == "migrate":
        lifecycle.migrate(stack)
    elif args.command == "restart":
        lifecycle.restart(stack, args.component)
    elif args.command == "stop":
        lifecycle.stop(stack, args.components)
    elif args.command == "demo":
        return demo.run(stack, say)
    elif args.command == "scratch":
        command = args.service_command[1:] if args.service_command[:1] == ["--"] else args.service_command
        return run_on_scratch_database(stack, args.service, command)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: user-facing failures end in one ``error: <component>: ...`` line, no traceback."""
    # aiokafka logs connection refusals at ERROR while the broker is still starting; the health probe
    # expects those, so keep them off the terminal.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        return run(argv)
    except DevstackError as error:
        print(error.one_line(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
