"""The topic registry in code: per topic its owner, producers, consumers and event types.

``proto/`` is generated from this module (``python -m pm_contracts.generate``) and a test fails when
the committed files drift from it or when a published schema version changes incompatibly.
"""

from __future__ import annotations

import builtins
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from pm_contracts.enrichment import EnrichedDate, EnrichedDuration, EnrichedText, TrackEnriched
from pm_contracts.exports import BackupCompleted, ExportCompleted, ExportFailed
from pm_contracts.jobs import JobError, JobUpdated
from pm_contracts.library import (
    FileEntry,
    FilePlaylistImported,
    FileTrack,
    ImportedEntry,
    ImportedPlaylist,
    ImportedTrack,
    LibraryImportFinished,
    PlaylistImported,
    PlaylistRestored,
    RestoredChange,
    RestoredEntry,
    RestoredOrigin,
    RestoredPlaylist,
    RestoredStep,
    RestoredTrack,
    RestoredVersion,
)
from pm_contracts.playlists import (
    PlaylistCreated,
    PlaylistDeleted,
    PlaylistEntriesChanged,
    PlaylistOrigin,
    PlaylistUpdated,
)
from pm_contracts.provider_links import ProviderLinked, ProviderReconsentRequired, ProviderUnlinked
from pm_contracts.services import service_names
from pm_contracts.sessions import SessionRevoked
from pm_contracts.sync import (
    SideChanges,
    SyncConflict,
    SyncEnd,
    SyncLinkCreated,
    SyncRunCompleted,
    SyncRunFailed,
    SyncRunStarted,
)
from pm_contracts.system import ServiceStarted
from pm_contracts.transfers import (
    TrackMatched,
    TrackNotFound,
    TrackRef,
    TransferCompleted,
    TransferFailed,
    TransferRequested,
)
from pm_contracts.users import UserDeleted, UserRegistered

# In a topic's producers or consumers: every service of proto/services.yaml (the one list of services).
EVERY_SERVICE = "*"
DLQ_PREFIX = "pm.dlq."


@dataclass(frozen=True)
class EventSpec:
    type: str
    version: int
    model: builtins.type[BaseModel]
    description: str
    examples: tuple[BaseModel, ...]


@dataclass(frozen=True)
class TopicSpec:
    name: str
    owner: str
    description: str
    key: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    events: tuple[EventSpec, ...]
    partitions: int = 6
    retention_hours: int = 24 * 7
    extra: dict[str, Any] = field(default_factory=dict)
    # Why a topic has no consumer in this deployment (it is published for operators' own consumers: an
    # audit trail, analytics); a topic without consumers must say why.
    unconsumed_because: str = ""

    def produced_by(self, service: str) -> bool:
        return service in self.producer_names()

    def consumed_by(self, service: str) -> bool:
        return service in self.consumer_names()

    def producer_names(self) -> tuple[str, ...]:
        """The producers, ``EVERY_SERVICE`` spelled out from proto/services.yaml."""
        return _expand(self.producers)

    def consumer_names(self) -> tuple[str, ...]:
        """The consumers, ``EVERY_SERVICE`` spelled out from proto/services.yaml."""
        return _expand(self.consumers)


def _expand(names: tuple[str, ...]) -> tuple[str, ...]:
    if EVERY_SERVICE not in names:
        return names
    return service_names()


_T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
_USER = uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e")
_JOB = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
_SESSION = uuid.UUID("16fd2706-8baf-433b-82eb-8c7fada847da")
_PLAYLIST = uuid.UUID("9b2c1b0e-52c4-4a8e-8f8a-3f6d2c9e1a47")
_LINK = uuid.UUID("5a1d7c3e-2b4f-4e8a-9c6d-1f3b5e7a9c2d")
_ORIGIN = PlaylistOrigin(provider="spotify", provider_playlist_id="3cEYpjA9oz9GiPac4AsH4n")

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        name="pm.users",
        owner="auth",
        description="The life of a user account.",
        key="user_id",
        producers=("auth",),
        # Every service: the chassis erases a deleted user's data in each (pm_platform.service.UserData).
        consumers=(EVERY_SERVICE,),
        events=(
            EventSpec(
                "user.registered",
                1,
                UserRegistered,
                "A user account was created.",
                (UserRegistered(user_id=_USER, registered_at=_T0),),
            ),
            EventSpec(
                "user.deleted",
                1,
                UserDeleted,
                "A user deleted their account; every service removes that user's data.",
                (UserDeleted(user_id=_USER, deleted_at=_T0),),
            ),
        ),
    ),
    TopicSpec(
        name="pm.sessions",
        owner="auth",
        description="Sessions ended before their time (logout, revocation, refresh-token reuse).",
        key="user_id",
        producers=("auth",),
        consumers=("gateway",),
        events=(
            EventSpec(
                "session.revoked",
                1,
                SessionRevoked,
                "A session was revoked; its access tokens must be refused until they expire.",
                (
                    SessionRevoked(
                        user_id=_USER,
                        session_id=_SESSION,
                        reason="refresh_reuse",
                        revoked_at=_T0,
                        access_expires_at=_T0,
                    ),
                ),
            ),
        ),
    ),
    TopicSpec(
        name="pm.provider-links",
        owner="auth",
        description="A user's linked streaming accounts: linked, unlinked, needing re-consent.",
        key="user_id",
        producers=("auth",),
        consumers=("provider-sync",),
        events=(
            EventSpec(
                "provider.linked",
                1,
                ProviderLinked,
                "A streaming account was linked (or linked again after re-consent).",
                (
                    ProviderLinked(
                        user_id=_USER,
                        provider="spotify",
                        provider_account_id="pmdemo.spotify",
                        display_name="PM Demo",
                        scopes=["playlist-read-private", "playlist-modify-private"],
                        linked_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "provider.unlinked",
                1,
                ProviderUnlinked,
                "A streaming account was unlinked; its tokens were revoked and deleted.",
                (
                    ProviderUnlinked(
                        user_id=_USER, provider="deezer", provider_account_id="5000000001", unlinked_at=_T0
                    ),
                ),
            ),
            EventSpec(
                "provider.reconsent_required",
                1,
                ProviderReconsentRequired,
                "The provider refused a token refresh; jobs needing the link pause until it is linked again.",
                (
                    ProviderReconsentRequired(
                        user_id=_USER,
                        provider="spotify",
                        provider_account_id="pmdemo.spotify",
                        detected_at=_T0,
                        reason="invalid_grant: refresh token expired",
                    ),
                ),
            ),
        ),
    ),
    TopicSpec(
        name="pm.jobs",
        owner="platform",
        description="Progress of long-running work (imports, transfers, exports, enrichment) in any service.",
        key="job_id",
        producers=(EVERY_SERVICE,),
        consumers=("gateway",),
        events=(
            EventSpec(
                "job.updated",
                1,
                JobUpdated,
                "A job changed state or progress; the latest event per job is its snapshot.",
                (
                    JobUpdated(
                        job_id=_JOB,
                        service="export",
                        kind="export.playlist",
                        user_id=_USER,
                        state="running",
                        progress=0.5,
                        message="written 120 of 240 tracks",
                        created_at=_T0,
                        updated_at=_T0,
                        started_at=_T0,
                    ),
                    JobUpdated(
                        job_id=_JOB,
                        service="export",
                        kind="export.playlist",
                        user_id=_USER,
                        state="failed",
                        progress=0.5,
                        error=JobError(
                            code="storage-unavailable", message="object store refused", retryable=True
                        ),
                        created_at=_T0,
                        updated_at=_T0,
                        started_at=_T0,
                        finished_at=_T0,
                    ),
                    JobUpdated(
                        job_id=_JOB,
                        service="provider-sync",
                        kind="transfer.playlist",
                        user_id=_USER,
                        state="paused",
                        progress=0.3,
                        error=JobError(
                            code="reconsent-required",
                            message="spotify refused to refresh the token; link spotify again",
                            retryable=True,
                        ),
                        created_at=_T0,
                        updated_at=_T0,
                        started_at=_T0,
                    ),
                ),
            ),
        ),
    ),
    TopicSpec(
        name="pm.library-imports",
        owner="provider-sync",
        description="What an import read from a provider for a user's library, or from a playlist file the "
        "user uploaded, in parts that fit an event.",
        key="user_id",
        producers=("provider-sync", "export"),
        # The library applies them; the canonical catalog learns from providers' descriptions.
        consumers=("playlist", "enrichment"),
        events=(
            EventSpec(
                "library.playlist_imported",
                1,
                PlaylistImported,
                "One part of a playlist (or liked songs) read from a provider; entries null: only its "
                "details changed.",
                (
                    PlaylistImported(
                        user_id=_USER,
                        job_id=_JOB,
                        provider="spotify",
                        playlist=ImportedPlaylist(
                            provider_playlist_id="3cEYpjA9oz9GiPac4AsH4n",
                            name="Trip-hop classics",
                            description="Bristol, 1994-1998",
                            public=True,
                            collaborative=False,
                            owner_id="pmdemo.spotify",
                            owner_name="PM Demo",
                            change_marker="MTAsZjM5ZTA4NjM5ZTU=",
                        ),
                        part=1,
                        parts=1,
                        entries=[
                            ImportedEntry(
                                track=ImportedTrack(
                                    provider_track_id="67Hna13dNDkZvBpTXRIaOJ",
                                    title="Teardrop",
                                    artists=["Massive Attack"],
                                    album="Mezzanine",
                                    duration_ms=330773,
                                    isrc="GBAAA9800006",
                                    explicit=False,
                                ),
                                added_at=_T0,
                                added_by="pmdemo.spotify",
                            )
                        ],
                        read_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "library.import_finished",
                1,
                LibraryImportFinished,
                "An import listed every playlist of the user on a provider; the library's others from there "
                "are gone from it.",
                (
                    LibraryImportFinished(
                        user_id=_USER,
                        job_id=_JOB,
                        provider="spotify",
                        provider_playlist_ids=["3cEYpjA9oz9GiPac4AsH4n"],
                        finished_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "library.file_playlist_imported",
                1,
                FilePlaylistImported,
                "One part of a playlist read from a file the user uploaded; the library creates the named "
                "playlist once every part has arrived.",
                (
                    FilePlaylistImported(
                        user_id=_USER,
                        job_id=_JOB,
                        playlist_id=_PLAYLIST,
                        name="Road trip",
                        description="From road-trip.m3u8",
                        part=1,
                        parts=1,
                        entries=[
                            FileEntry(
                                track=FileTrack(
                                    title="Teardrop",
                                    artists=["Massive Attack"],
                                    album="Mezzanine",
                                    duration_ms=330_000,
                                    isrc="GBAAA9800004",
                                    provider_ids={"spotify": "67Hna13dNDkZvBpTXRIaOJ", "deezer": "3135556"},
                                ),
                                added_at=_T0,
                            ),
                            FileEntry(track=FileTrack(title="Demo 3", is_local=True, media_type="track")),
                        ],
                        read_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "library.playlist_restored",
                1,
                PlaylistRestored,
                "One part of a playlist restored from a library backup; the library creates it once every "
                "part has arrived, unless the user's library already holds it.",
                (
                    PlaylistRestored(
                        user_id=_USER,
                        job_id=_JOB,
                        playlist=RestoredPlaylist(
                            playlist_id=_PLAYLIST,
                            name="Trip-hop classics",
                            description="Bristol, 1994-1998",
                            public=True,
                            origin=RestoredOrigin(
                                provider="spotify",
                                playlist_id="3cEYpjA9oz9GiPac4AsH4n",
                                owner_id="pmdemo.spotify",
                                owner_name="PM Demo",
                            ),
                            created_at=_T0,
                            version=2,
                            updated_at=_T0,
                        ),
                        part=1,
                        parts=1,
                        entries=[
                            RestoredEntry(
                                entry_id=uuid.UUID("5b6f0d1e-8f7a-4c3b-9a2d-1e0f3c4b5a69"),
                                track=RestoredTrack(
                                    track_id=uuid.UUID("2f1e7c3a-9b8d-4e6f-a5c4-3b2a1d0e9f87"),
                                    title="Teardrop",
                                    artists=["Massive Attack"],
                                    album="Mezzanine",
                                    duration_ms=330_000,
                                    isrc="GBAAA9800004",
                                    provider_ids={"spotify": "67Hna13dNDkZvBpTXRIaOJ"},
                                ),
                                added_at=_T0,
                                added_by="pmdemo.spotify",
                            ),
                        ],
                        history=[
                            RestoredStep(
                                version=RestoredVersion(
                                    version=2,
                                    kind="add",
                                    author="pmdemo.spotify",
                                    created_at=_T0,
                                    added=1,
                                    entry_count=1,
                                )
                            ),
                            RestoredStep(
                                change=RestoredChange(
                                    change="added",
                                    position=0,
                                    entry=RestoredEntry(
                                        entry_id=uuid.UUID("5b6f0d1e-8f7a-4c3b-9a2d-1e0f3c4b5a69"),
                                        track=RestoredTrack(
                                            track_id=uuid.UUID("2f1e7c3a-9b8d-4e6f-a5c4-3b2a1d0e9f87"),
                                            title="Teardrop",
                                            artists=["Massive Attack"],
                                        ),
                                        added_at=_T0,
                                        added_by="pmdemo.spotify",
                                    ),
                                )
                            ),
                            RestoredStep(
                                version=RestoredVersion(
                                    version=1,
                                    kind="import",
                                    author="import:spotify",
                                    created_at=_T0,
                                    entry_count=0,
                                )
                            ),
                        ],
                        restored_at=_T0,
                    ),
                ),
            ),
        ),
    ),
    TopicSpec(
        name="pm.playlists",
        owner="playlist",
        description="The life of the playlists of users' libraries: created, updated, deleted, entries changed.",
        key="playlist_id",
        producers=("playlist",),
        # provider-sync forgets what it imported into a playlist the user deleted (a next import brings
        # it back).
        consumers=("provider-sync",),
        events=(
            EventSpec(
                "playlist.created",
                1,
                PlaylistCreated,
                "A playlist was created in the library or imported from a provider for the first time.",
                (
                    PlaylistCreated(
                        playlist_id=_PLAYLIST,
                        user_id=_USER,
                        name="Trip-hop classics",
                        origin=_ORIGIN,
                        version=1,
                        entries=42,
                        created_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "playlist.updated",
                1,
                PlaylistUpdated,
                "A playlist's details changed (name, description, flags, or gone from its provider).",
                (
                    PlaylistUpdated(
                        playlist_id=_PLAYLIST,
                        user_id=_USER,
                        name="Trip-hop, the classics",
                        description="Bristol, 1994-1998",
                        public=False,
                        version=3,
                        updated_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "playlist.deleted",
                1,
                PlaylistDeleted,
                "A playlist was deleted from the library (its history with it).",
                (PlaylistDeleted(playlist_id=_PLAYLIST, user_id=_USER, origin=_ORIGIN, deleted_at=_T0),),
            ),
            EventSpec(
                "playlist.entries_changed",
                1,
                PlaylistEntriesChanged,
                "A playlist's entries changed, making a new version.",
                (
                    PlaylistEntriesChanged(
                        playlist_id=_PLAYLIST,
                        user_id=_USER,
                        version=4,
                        change="move",
                        added=0,
                        removed=0,
                        moved=1,
                        entries=42,
                        changed_at=_T0,
                    ),
                ),
            ),
        ),
    ),
    TopicSpec(
        name="pm.transfers",
        owner="provider-sync",
        description="The life of a transfer of playlists to another service (its progress is the job's).",
        key="job_id",
        producers=("provider-sync",),
        consumers=(),
        unconsumed_because="no service acts on a transfer's life yet: the events are its audit trail, and "
        "its progress reaches users as job.updated",
        events=(
            EventSpec(
                "transfer.requested",
                1,
                TransferRequested,
                "A user asked for a transfer (or a dry run of one) to a service.",
                (
                    TransferRequested(
                        job_id=_JOB,
                        user_id=_USER,
                        target="deezer",
                        playlists=2,
                        dry_run=True,
                        requested_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "transfer.completed",
                1,
                TransferCompleted,
                "A transfer ended: every track matched or reported, and the target written and read back.",
                (
                    TransferCompleted(
                        job_id=_JOB,
                        user_id=_USER,
                        target="deezer",
                        dry_run=False,
                        tracks=120,
                        matched=117,
                        not_matched=3,
                        written=117,
                        completed_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "transfer.failed",
                1,
                TransferFailed,
                "A transfer stopped for good (what it wrote stays; the job says why).",
                (
                    TransferFailed(
                        job_id=_JOB,
                        user_id=_USER,
                        target="deezer",
                        code="provider-error",
                        message="Deezer refused the playlist",
                        failed_at=_T0,
                    ),
                ),
            ),
        ),
    ),
    TopicSpec(
        name="pm.exports",
        owner="export",
        description="The end of an export of playlist files or of a library backup: what was written where, "
        "and until when.",
        key="job_id",
        producers=("export",),
        consumers=(),
        unconsumed_because="no service acts on an export's end: the events are its audit trail, and its "
        "progress and download reach users through the job",
        events=(
            EventSpec(
                "export.completed",
                1,
                ExportCompleted,
                "An export's file is in object storage until it expires.",
                (
                    ExportCompleted(
                        job_id=_JOB,
                        user_id=_USER,
                        format="m3u8",
                        playlists=1,
                        entries=42,
                        object_name=f"exports/{_USER}/{_JOB}/Trip-hop classics.m3u8",
                        size_bytes=5_120,
                        sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                        expires_at=datetime(2026, 12, 6, 9, 0, tzinfo=UTC),
                        completed_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "backup.completed",
                1,
                BackupCompleted,
                "A backup of a user's whole library is in object storage until it expires.",
                (
                    BackupCompleted(
                        job_id=_JOB,
                        user_id=_USER,
                        playlists=12,
                        entries=1_840,
                        object_name=f"backups/{_USER}/{_JOB}/library-backup-2026-11-29.zip",
                        size_bytes=96_512,
                        sha256="60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752",
                        expires_at=datetime(2026, 12, 29, 9, 0, tzinfo=UTC),
                        completed_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "export.failed",
                1,
                ExportFailed,
                "An export stopped for good (the job says why); nothing was stored.",
                (
                    ExportFailed(
                        job_id=_JOB,
                        user_id=_USER,
                        format="csv",
                        code="playlist-not-found",
                        message="1 of the playlists is not in your library",
                        failed_at=_T0,
                    ),
                ),
            ),
        ),
    ),
    TopicSpec(
        name="pm.track-matches",
        owner="provider-sync",
        description="What transfers learnt of source tracks on another service: confident automatic "
        "matches, and tracks nobody's search found there.",
        # The job that found them: one transfer's matches arrive in order (the catalog's handlers lock the
        # source track they record, so matches and misses of different jobs may arrive in any order).
        key="job_id",
        producers=("provider-sync",),
        # The canonical catalog records them: the shared match cache.
        consumers=("enrichment",),
        events=(
            EventSpec(
                "track.matched",
                1,
                TrackMatched,
                "A transfer matched a source track to a target track automatically and confidently.",
                (
                    TrackMatched(
                        job_id=_JOB,
                        source=TrackRef(provider="spotify", provider_track_id="67Hna13dNDkZvBpTXRIaOJ"),
                        source_isrc="GBAAA9800006",
                        target=TrackRef(provider="deezer", provider_track_id="3135556"),
                        target_isrc="GBAAA9800006",
                        title="Teardrop",
                        artists=["Massive Attack"],
                        duration_ms=330773,
                        method="isrc",
                        confidence=0.98,
                        matched_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "track.not_found",
                1,
                TrackNotFound,
                "A transfer's ISRC lookup and search found nothing on the target a user could pick for a "
                "source track.",
                (
                    TrackNotFound(
                        job_id=_JOB,
                        source=TrackRef(provider="spotify", provider_track_id="4uLU6hMCjMI75M1A2tKUQC"),
                        source_isrc="GBXXX2600017",
                        target="deezer",
                        title="Teardrop (Kazoo Version)",
                        artists=["The Kazoo Collective"],
                        duration_ms=213573,
                        searched_at=_T0,
                    ),
                ),
            ),
        ),
    ),
    TopicSpec(
        name="pm.enrichment",
        owner="enrichment",
        description="What the canonical catalog learnt about a recording: a missing ISRC, duration, release "
        "date or album, from another service's description of it or from MusicBrainz, with its source.",
        # One recording's enrichments arrive in order; each carries the whole enrichment (the latest wins).
        key="recording_id",
        producers=("enrichment",),
        # The libraries show the enriched fields beside the providers' own.
        consumers=("playlist",),
        events=(
            EventSpec(
                "track.enriched",
                1,
                TrackEnriched,
                "A canonical recording's enrichment as it stands, and the provider tracks that are it.",
                (
                    TrackEnriched(
                        recording_id=uuid.UUID("5d1f6e3a-8b0c-4d7e-9f2a-1b3c5d7e9f10"),
                        tracks=[
                            TrackRef(provider="spotify", provider_track_id="67Hna13dNDkZvBpTXRIaOJ"),
                            TrackRef(provider="youtube", provider_track_id="u7K72X4eo_s"),
                        ],
                        isrc=EnrichedText(value="GBAAA9800006", source="spotify"),
                        duration_ms=EnrichedDuration(value=330773, source="spotify"),
                        release_date=EnrichedDate(value=date(1998, 4, 20), source="musicbrainz"),
                        album=EnrichedText(value="Mezzanine", source="deezer"),
                        musicbrainz_id=uuid.UUID("2c1e8b3e-3a6f-4b5e-9a8e-6f0c1f1d2a3b"),
                        enriched_at=_T0,
                    ),
                ),
            ),
        ),
    ),
    TopicSpec(
        name="pm.sync",
        owner="provider-sync",
        description="Sync links between two playlists and their runs (a run's progress is its job's).",
        key="link_id",
        producers=("provider-sync",),
        consumers=(),
        unconsumed_because="no service acts on a sync's life yet: the events are the links' audit trail, "
        "and a run's progress reaches users as job.updated",
        events=(
            EventSpec(
                "sync.link_created",
                1,
                SyncLinkCreated,
                "A user linked two playlists to keep them the same.",
                (
                    SyncLinkCreated(
                        link_id=_LINK,
                        user_id=_USER,
                        a=SyncEnd(provider="spotify", playlist_id="3cEYpjA9oz9GiPac4AsH4n"),
                        b=SyncEnd(provider="deezer", playlist_id="908622995"),
                        direction="mirror",
                        every_minutes=60,
                        created_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "sync.run_started",
                1,
                SyncRunStarted,
                "A run of a link (or the undo of one) started.",
                (SyncRunStarted(run_id=_JOB, link_id=_LINK, user_id=_USER, kind="sync", started_at=_T0),),
            ),
            EventSpec(
                "sync.run_completed",
                1,
                SyncRunCompleted,
                "A run ended with both playlists as the link's direction says (or restored, for an undo).",
                (
                    SyncRunCompleted(
                        run_id=_JOB,
                        link_id=_LINK,
                        user_id=_USER,
                        kind="sync",
                        changed=True,
                        a=SideChanges(added=2, removed=0, moved=1),
                        b=SideChanges(added=5, removed=1, moved=0),
                        conflicts=1,
                        unmatched=0,
                        completed_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "sync.run_failed",
                1,
                SyncRunFailed,
                "A run stopped for good; the link keeps its last good state and is tried again later.",
                (
                    SyncRunFailed(
                        run_id=_JOB,
                        link_id=_LINK,
                        user_id=_USER,
                        kind="sync",
                        code="provider-error",
                        message="Deezer refused the change",
                        failed_at=_T0,
                    ),
                ),
            ),
            EventSpec(
                "sync.conflict",
                1,
                SyncConflict,
                "A two-way run met changes of both sides that cannot both hold, and applied the rule's choice.",
                (
                    SyncConflict(
                        run_id=_JOB,
                        link_id=_LINK,
                        user_id=_USER,
                        kind="move-move",
                        message="both sides moved 'Song' to different places: the first end's place won",
                        detected_at=_T0,
                    ),
                ),
            ),
        ),
    ),
    TopicSpec(
        name="pm.system",
        owner="platform",
        description="Service instances announcing that they started and which migrations they run.",
        key="service",
        producers=(EVERY_SERVICE,),
        consumers=("gateway",),
        events=(
            EventSpec(
                "service.started",
                1,
                ServiceStarted,
                "A service instance started, migrated its schema and is serving.",
                (
                    ServiceStarted(
                        service="playlist",
                        instance="playlist-7d9f-1",
                        version="0.1.0",
                        schema_migrations=["platform:0001", "platform:0002", "playlist:0001"],
                        started_at=_T0,
                    ),
                ),
            ),
        ),
        partitions=1,
    ),
)


def topic(name: str) -> TopicSpec:
    for spec in TOPICS:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown topic {name}")


def event_spec(event_type: str) -> tuple[TopicSpec, EventSpec]:
    for spec in TOPICS:
        for event in spec.events:
            if event.type == event_type:
                return spec, event
    raise KeyError(f"unknown event type {event_type}")


def topics_consumed_by(service: str) -> list[TopicSpec]:
    return [spec for spec in TOPICS if spec.consumed_by(service)]


def topics_produced_by(service: str) -> list[TopicSpec]:
    return [spec for spec in TOPICS if spec.produced_by(service)]


def event_type_of(model: builtins.type[BaseModel]) -> str:
    """The event type whose payload model is ``model`` (each model is the payload of one type)."""
    for spec in TOPICS:
        for event in spec.events:
            if event.model is model:
                return event.type
    raise KeyError(f"{model.__name__} is the payload of no event in the registry")


def dead_letter_topic(service: str) -> str:
    return f"{DLQ_PREFIX}{service}"
