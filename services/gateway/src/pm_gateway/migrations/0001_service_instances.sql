-- Service instances as announced through Kafka (service.started): which version runs where.
CREATE TABLE service_instances (
    instance     text        PRIMARY KEY,
    service      text        NOT NULL,
    version      text        NOT NULL,
    schema_migrations text[] NOT NULL,
    started_at   timestamptz NOT NULL,
    seen_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_instances_service ON service_instances (service, started_at DESC);
