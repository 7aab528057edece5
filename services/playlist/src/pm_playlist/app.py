"""Wiring of the playlist service: what the chassis runs for it."""

from importlib import resources

from pm_platform.service import ServiceDefinition
from pm_playlist.events.handlers import handlers
from pm_playlist.http.routes import add_routes
from pm_playlist.settings import PlaylistSettings


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="playlist",
        distribution="pm-playlist",
        schema="playlist",
        settings_cls=PlaylistSettings,
        migrations=resources.files("pm_playlist") / "migrations",
        routes=add_routes,
        event_handlers=handlers,
    )
