"""Wiring of the playlist service: what the chassis runs for it."""

from importlib import resources

from pm_platform.service import ServiceDefinition
from pm_platform.users import UserData
from pm_playlist.commands import explain_checks
from pm_playlist.events.handlers import handlers
from pm_playlist.http.routes import EDIT_MAX_BYTES, add_routes
from pm_playlist.settings import PlaylistSettings
from pm_playlist.usecases.insights import catalog_reader


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="playlist",
        distribution="pm-playlist",
        schema="playlist",
        settings_cls=PlaylistSettings,
        migrations=resources.files("pm_playlist") / "migrations",
        routes=add_routes,
        event_handlers=handlers,
        # Entries, versions and snapshots go with their playlist (ON DELETE CASCADE).
        user_data=UserData(tables=("playlists", "tracks", "import_parts")),
        # Edits name up to 10,000 entries (a whole provider playlist): a few MB of JSON at most.
        client_max_size=EDIT_MAX_BYTES,
        commands={"explain-checks": explain_checks},
        resources=[catalog_reader],
    )
