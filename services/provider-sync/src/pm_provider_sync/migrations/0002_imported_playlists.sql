-- What the library imports sent of each playlist of a user's providers (services/provider-sync,
-- usecases/imports.py): the provider's change marker and the digests of the details and of the entries.
-- A playlist whose marker is the one here costs no read; one whose digests are the ones here sends
-- nothing. Forgotten when the playlist leaves the provider's listing or the library (playlist.deleted).
CREATE TABLE imported_playlists (
    user_id              uuid        NOT NULL,
    provider             text        NOT NULL,
    provider_playlist_id text        NOT NULL,
    change_marker        text,
    details_digest       text        NOT NULL,
    -- NULL: the entries could not be read (a followed playlist the provider keeps to its owner).
    entries_digest       text,
    imported_at          timestamptz NOT NULL,
    PRIMARY KEY (user_id, provider, provider_playlist_id)
);
