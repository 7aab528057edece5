import asyncio
import gc

import uvloop

from pm_gateway.app import definition
from pm_platform.service import main

# The gateway is on every request's path: run it on uvloop (same asyncio API, a faster loop).
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
# Fewer, cheaper garbage collections: each request allocates many short-lived objects, and a full
# collection walking every long-lived object (imported modules, settings, caches) stalls every request
# in flight. Start-up objects are frozen (app.py) so collections skip them; cycles are still collected.
gc.set_threshold(20_000, 20, 20)
main(definition())
