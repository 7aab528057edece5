"""``python -m pm_provider_emulator [serve|migrate]``."""

from __future__ import annotations

import argparse
import sys

from aiohttp import web
from loguru import logger

from pm_provider_emulator.app import ProductionRefused, init_app
from pm_provider_emulator.settings import EmulatorSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pm_provider_emulator", description="Provider emulator (dev/test only)"
    )
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args(argv)
    settings = EmulatorSettings()
    logger.remove()
    logger.add(sys.stderr, level=settings.log_level.upper())
    if settings.is_production:
        print(
            "provider-emulator: refusing to start with ENVIRONMENT=production (development and tests only)",
            file=sys.stderr,
        )
        return 2
    if args.command == "migrate":
        logger.info("provider-emulator has no database; migrate is a no-op")
        return 0
    try:
        app = init_app(settings)
    except ProductionRefused as err:
        print(f"provider-emulator: {err}", file=sys.stderr)
        return 2
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
