-- A track of a service its users write (YouTube: anyone may upload a video titled as any song) is a
-- lookup's answer only when a transfer's match vouched for it (docs/catalog.md, "The lookup"): a
-- transfer's matcher compared it with the song on the user's behalf. A track only an import described
-- (the uploader's title) is clustered, never handed to a transfer as certain.
-- Every track a transfer's match brought is vouched for (the default, and every row so far).
ALTER TABLE recording_provider_ids ADD COLUMN vouched boolean NOT NULL DEFAULT true;
