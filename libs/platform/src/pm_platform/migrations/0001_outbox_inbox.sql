-- Transactional outbox: events written in the same transaction as the state change they describe.
CREATE TABLE outbox (
    seq          bigserial PRIMARY KEY,          -- publish order
    event_id     uuid        NOT NULL UNIQUE,
    topic        text        NOT NULL,
    partition_key text       NOT NULL,
    event_type   text        NOT NULL,
    envelope     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Inbox: ids of events this service has handled, so a redelivered event changes nothing.
CREATE TABLE inbox (
    event_id     uuid        NOT NULL,
    consumer     text        NOT NULL,
    event_type   text        NOT NULL,
    handled_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, consumer)
);
CREATE INDEX inbox_handled_at ON inbox (handled_at);
