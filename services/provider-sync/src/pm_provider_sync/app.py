"""Wiring of the provider-sync service: what the chassis runs for it."""

from importlib import resources

from pm_platform.service import ServiceDefinition
from pm_platform.users import UserData
from pm_provider_sync.domain.imports import IMPORT_JOB
from pm_provider_sync.domain.sync import SYNC_RUN_JOB, SYNC_UNDO_JOB
from pm_provider_sync.domain.transfers import TRANSFER_JOB
from pm_provider_sync.events.handlers import handlers
from pm_provider_sync.http.routes import add_routes
from pm_provider_sync.resources import provider_resources, service_clients
from pm_provider_sync.settings import ProviderSyncSettings
from pm_provider_sync.usecases import imports, sync, transfers


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="provider-sync",
        distribution="pm-provider-sync",
        schema="provider_sync",
        settings_cls=ProviderSyncSettings,
        migrations=resources.files("pm_provider_sync") / "migrations",
        routes=add_routes,
        event_handlers=handlers,
        job_handlers={
            IMPORT_JOB: imports.import_library,
            TRANSFER_JOB: transfers.run_transfer,
            SYNC_RUN_JOB: sync.run_sync,
            SYNC_UNDO_JOB: sync.run_sync,
        },
        user_data=UserData(
            tables=(
                "provider_links",
                "imported_playlists",
                "transfer_playlists",
                "transfer_tracks",
                "transfer_parts",
                "track_mappings",
                "sync_links",
                "sync_pairs",
                "sync_runs",
                "sync_misses",
            )
        ),
        resources=[provider_resources, service_clients, sync.scheduler],
    )
