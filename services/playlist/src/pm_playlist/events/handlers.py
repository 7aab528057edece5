"""Event handlers of the playlist service: each runs in the transaction that records the event id and
calls a use case. A deleted user's data is erased by the chassis (app.py declares what it keeps)."""

from pm_platform.consumers import EventHandlers

handlers = EventHandlers()
