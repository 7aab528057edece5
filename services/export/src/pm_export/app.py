"""Wiring of the export service: what the chassis runs for it."""

from importlib import resources

from pm_export.domain.backups import BACKUP_JOB, RESTORE_JOB
from pm_export.domain.exports import EXPORT_JOB
from pm_export.domain.imports import IMPORT_JOB
from pm_export.events.handlers import handlers
from pm_export.http.routes import add_routes
from pm_export.resources import bucket_lifecycle, peer_readers
from pm_export.settings import ExportSettings
from pm_export.usecases.backups import run_backup, run_restore
from pm_export.usecases.exports import run_export
from pm_export.usecases.imports import run_import
from pm_export.usecases.users import erase_user_objects
from pm_platform.s3 import object_store, object_store_check
from pm_platform.service import ServiceDefinition
from pm_platform.users import UserData


def definition() -> ServiceDefinition:
    return ServiceDefinition(
        name="export",
        distribution="pm-export",
        schema="export",
        settings_cls=ExportSettings,
        migrations=resources.files("pm_export") / "migrations",
        routes=add_routes,
        event_handlers=handlers,
        job_handlers={
            EXPORT_JOB: run_export,
            IMPORT_JOB: run_import,
            BACKUP_JOB: run_backup,
            RESTORE_JOB: run_restore,
        },
        user_data=UserData(tables=("exports",), erase=erase_user_objects),
        resources=[object_store, bucket_lifecycle, peer_readers],
        health_checks=lambda rt: [object_store_check(rt)],
    )
