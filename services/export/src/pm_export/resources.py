"""The export service's live resources beside the chassis runtime (app.py starts them).

- :func:`peer_readers` keeps the library's internal reads (pm_platform.internal) as ``rt[LIBRARY]`` and
  auth's read of a user's provider links as ``rt[PEERS]``.
- :func:`bucket_lifecycle` declares the bucket's expiry rules at start-up: an export's file is deleted
  EXPORT_RETENTION_DAYS after it was written, an upload for an import after a day (it is deleted once
  read; this catches those never imported). A store that refuses them does not stop start-up (the API
  refuses expired files by itself); it is logged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from loguru import logger

from pm_export.domain.objects import BACKUPS, EXPORTS, UPLOAD_RETENTION_DAYS, UPLOADS
from pm_export.settings import export_settings
from pm_platform.internal import AccountsReader, InternalClient, LibraryReader
from pm_platform.resources import ResourceKey
from pm_platform.s3 import OBJECT_STORE
from pm_platform.service import Runtime

LIBRARY = ResourceKey("library", LibraryReader)
PEERS = ResourceKey("peers", AccountsReader)


async def peer_readers(rt: Runtime) -> AsyncIterator[None]:
    """The other services' internal reads, over one HTTP session: the library, and auth's links."""
    settings = export_settings(rt.settings)
    client = InternalClient(settings.service_token.get_secret_value())
    rt[LIBRARY] = LibraryReader(client, settings.playlist_url)
    rt[PEERS] = AccountsReader(client, settings.auth_url)
    try:
        yield
    finally:
        del rt[LIBRARY]
        del rt[PEERS]
        await client.close()


async def bucket_lifecycle(rt: Runtime) -> AsyncIterator[None]:
    settings = export_settings(rt.settings)
    try:
        await rt[OBJECT_STORE].expire_after(
            {
                EXPORTS: settings.export_retention_days,
                UPLOADS: UPLOAD_RETENTION_DAYS,
                BACKUPS: settings.backup_retention_days,
            }
        )
    except Exception as exc:  # noqa: BLE001 - the API enforces expiry too; readiness reports the store
        logger.warning("the bucket's lifecycle rules could not be set: {}", type(exc).__name__)
    yield
