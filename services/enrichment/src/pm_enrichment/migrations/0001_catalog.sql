-- The canonical catalog, the shared match cache (docs/catalog.md): recordings, the provider tracks and
-- ISRCs known to be each one, and the evidence that joined them. Shared by every user: it holds no user
-- id and nothing a user chose (their picked candidates stay in provider-sync).

-- A recording: one piece of music, whatever service or release carries it.
CREATE TABLE recordings (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- A description of the recording, from the first match that made it (the source track's).
    title       text        NOT NULL,
    artists     text[]      NOT NULL DEFAULT '{}',
    duration_ms integer     CHECK (duration_ms >= 0),
    -- Set when a merge folded this recording into another one: it then holds no ids or ISRCs, and is
    -- kept so its id keeps a meaning and an operator's split can bring it back.
    merged_into uuid        REFERENCES recordings (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (merged_into IS DISTINCT FROM id)
);

-- The matches the catalog was told (track.matched) and what it did with each: the evidence that
-- explains why two ids are on one recording, or why they are not. One record per (source id, target id)
-- pair and decision: the same match told again adds nothing (a confirmation of a pair already recorded
-- neither), but a pair once refused and later merged (the recordings' ISRCs came to agree) keeps both.
CREATE TABLE catalog_joins (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_provider    text        NOT NULL,
    source_track_id    text        NOT NULL,
    target_provider    text        NOT NULL,
    target_track_id    text        NOT NULL,
    -- created: neither id was known, a new recording holds both; attached: the unknown id joined the
    -- known one's recording; confirmed: both were on one recording already; merged: their two
    -- recordings became one; refused: their recordings conflict, nothing was joined (reason says why).
    decision           text        NOT NULL
                       CHECK (decision IN ('created', 'attached', 'confirmed', 'merged', 'refused')),
    -- The recording the source id is on after the decision.
    recording_id       uuid        NOT NULL REFERENCES recordings (id),
    -- merged: the recording folded into recording_id; refused: the target id's recording.
    other_recording_id uuid        REFERENCES recordings (id),
    reason             text        NOT NULL,
    -- The event's evidence: how the transfer matched, how sure it was, which job, when.
    method             text        NOT NULL CHECK (method IN ('isrc', 'search')),
    confidence         double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    source_isrc        text,
    target_isrc        text,
    job_id             uuid        NOT NULL,
    matched_at         timestamptz NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((decision IN ('merged', 'refused')) = (other_recording_id IS NOT NULL)),
    UNIQUE (source_provider, source_track_id, target_provider, target_track_id, decision)
);
CREATE INDEX catalog_joins_by_target ON catalog_joins (target_provider, target_track_id);
CREATE INDEX catalog_joins_by_recording ON catalog_joins (recording_id);
CREATE INDEX catalog_joins_by_other_recording ON catalog_joins (other_recording_id)
    WHERE other_recording_id IS NOT NULL;

-- The provider tracks of each recording. A track is on one recording at most; a recording may have
-- several tracks on one provider (an album's and a single's release of one recording).
CREATE TABLE recording_provider_ids (
    provider          text        NOT NULL,
    provider_track_id text        NOT NULL,
    recording_id      uuid        NOT NULL REFERENCES recordings (id),
    -- Recording order: of several tracks on one provider, the lookup answers the first recorded.
    seq               bigint      GENERATED ALWAYS AS IDENTITY,
    -- The match that brought this id into the catalog (a merge moves it, and keeps this).
    join_id           bigint      NOT NULL REFERENCES catalog_joins (id),
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, provider_track_id)
);
-- A recording's first track on a provider: the lookup's second step, without a heap visit.
CREATE INDEX recording_provider_ids_by_recording
    ON recording_provider_ids (recording_id, provider, seq) INCLUDE (provider_track_id);
CREATE INDEX recording_provider_ids_by_join ON recording_provider_ids (join_id);

-- The ISRCs of each recording. An ISRC may name several recordings (a catalog that could not join
-- them), and a recording may have several ISRCs (releases by different labels).
CREATE TABLE recording_isrcs (
    recording_id uuid        NOT NULL REFERENCES recordings (id),
    isrc         text        NOT NULL CHECK (isrc ~ '^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$'),
    -- Of several recordings holding an ISRC, the lookup prefers the one that held it first.
    seq          bigint      GENERATED ALWAYS AS IDENTITY,
    join_id      bigint      NOT NULL REFERENCES catalog_joins (id),
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (recording_id, isrc)
);
CREATE INDEX recording_isrcs_by_isrc ON recording_isrcs (isrc, seq) INCLUDE (recording_id);
CREATE INDEX recording_isrcs_by_join ON recording_isrcs (join_id);
