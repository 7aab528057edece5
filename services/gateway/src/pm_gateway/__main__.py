import asyncio

import uvloop

from pm_gateway.app import definition
from pm_platform.service import main

# The gateway is on every request's path: run it on uvloop (same asyncio API, a faster loop).
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
main(definition())
