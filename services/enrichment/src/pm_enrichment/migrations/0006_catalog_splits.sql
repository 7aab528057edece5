-- An operator's split of a wrong join (docs/catalog.md, "Splitting a recording"): some tracks of a
-- recording taken out into a new one, and remembered, so that no later import's placing nor transfer's
-- match joins the two sides again.

CREATE TABLE catalog_splits (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The recording split, and the one made of the tracks taken out of it.
    recording_id     uuid        NOT NULL REFERENCES recordings (id),
    new_recording_id uuid        NOT NULL REFERENCES recordings (id),
    -- The tracks taken out: [[provider, provider_track_id], ...].
    tracks           jsonb       NOT NULL,
    -- The operator's words: why the join was wrong.
    reason           text        NOT NULL,
    split_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalog_splits_by_recording ON catalog_splits (recording_id);

-- Pairs of tracks an operator said are not one recording, each pair in both orders (a lookup by either
-- track): a placing refuses a union that would put a pair together, a transfer's match a merge.
CREATE TABLE catalog_apart (
    provider_a text   NOT NULL,
    track_a    text   NOT NULL,
    provider_b text   NOT NULL,
    track_b    text   NOT NULL,
    split_id   bigint NOT NULL REFERENCES catalog_splits (id),
    PRIMARY KEY (provider_a, track_a, provider_b, track_b)
);
