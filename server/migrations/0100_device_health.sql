-- Device health (server/queries/devices.py): the whole last heartbeat of each edge, ordered by the
-- edge's own `sent_at` (a replayed older heartbeat never overwrites a newer state), the last
-- state of each reader, a short log of heartbeats (trends: outbox growing, since when), readers
-- up per hour (data completeness), and the alerts already posted to the webhook.
ALTER TABLE device_heartbeat
    ADD COLUMN beat jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN uploaded_at timestamptz;  -- sent_at of the batch that carried it (edge clock)
CREATE INDEX device_heartbeat_store ON device_heartbeat (store_id);

CREATE TABLE reader_health (
    store_id text NOT NULL,
    device_id text NOT NULL,
    reader_id text NOT NULL,
    sent_at timestamptz NOT NULL,          -- of the newest heartbeat that reported this reader
    connected boolean NOT NULL,
    connected_since timestamptz NOT NULL,  -- when `connected` last changed
    reads_total bigint NOT NULL,
    frames_ok bigint NOT NULL,
    frames_bad bigint NOT NULL,
    bytes_skipped bigint NOT NULL,
    reconnects integer NOT NULL,
    errors jsonb NOT NULL,
    goods_reads bigint NOT NULL,
    clock_offset_s double precision,
    last_read_at timestamptz,
    PRIMARY KEY (device_id, reader_id)
);
CREATE INDEX reader_health_store ON reader_health (store_id);

CREATE TABLE heartbeat_log (
    device_id text NOT NULL,
    store_id text NOT NULL,
    sent_at timestamptz NOT NULL,
    beat jsonb NOT NULL,
    PRIMARY KEY (device_id, sent_at)
);

CREATE TABLE reader_hour (
    store_id text NOT NULL,
    hour timestamptz NOT NULL,
    device_id text NOT NULL,
    reader_id text NOT NULL,
    beats integer NOT NULL,
    connected_beats integer NOT NULL,
    PRIMARY KEY (store_id, hour, device_id, reader_id)
);

CREATE TABLE alert_sent (
    store_id text NOT NULL,
    key text NOT NULL,
    since timestamptz NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, key, since)
);
