"""Event handlers of the auth service. A deleted user's data is erased by the chassis (app.py declares
what auth keeps); the deletion request already removed it, so the chassis usually finds nothing."""

from pm_platform.consumers import EventHandlers

handlers = EventHandlers()
