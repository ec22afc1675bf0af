-- Store layout, tags, credentials, and the time series (zone visits, trips).
-- Plain PostgreSQL; server/timescale.py turns the time series into hypertables when it can.

CREATE TABLE store (
    id text PRIMARY KEY,
    name text NOT NULL,
    timezone text NOT NULL DEFAULT 'UTC'
);

CREATE TABLE floor (
    store_id text NOT NULL REFERENCES store (id) ON DELETE CASCADE,
    id text NOT NULL,
    name text NOT NULL,
    width_m double precision NOT NULL,
    height_m double precision NOT NULL,
    PRIMARY KEY (store_id, id)
);

CREATE TABLE zone (
    store_id text NOT NULL REFERENCES store (id) ON DELETE CASCADE,
    code text NOT NULL,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('entrance', 'aisle', 'counter', 'checkout', 'exit')),
    floor_id text NOT NULL,
    polygon jsonb NOT NULL,
    area_m2 double precision NOT NULL,
    PRIMARY KEY (store_id, code)
);

CREATE TABLE zone_adjacency (
    store_id text NOT NULL,
    zone_a text NOT NULL,
    zone_b text NOT NULL,
    PRIMARY KEY (store_id, zone_a, zone_b),
    FOREIGN KEY (store_id, zone_a) REFERENCES zone (store_id, code) ON DELETE CASCADE,
    FOREIGN KEY (store_id, zone_b) REFERENCES zone (store_id, code) ON DELETE CASCADE
);

CREATE TABLE counter (
    store_id text NOT NULL REFERENCES store (id) ON DELETE CASCADE,
    code text NOT NULL,
    name text NOT NULL,
    brand text NOT NULL,
    category text NOT NULL,
    zone_code text NOT NULL,
    area_m2 double precision NOT NULL,
    PRIMARY KEY (store_id, code)
);

CREATE TABLE reader (
    store_id text NOT NULL REFERENCES store (id) ON DELETE CASCADE,
    id text NOT NULL,
    protocol text NOT NULL,
    floor_id text NOT NULL,
    PRIMARY KEY (store_id, id)
);

-- Which zone an antenna covers, over time: layouts change, and before/after analysis needs both.
CREATE TABLE antenna_zone (
    store_id text NOT NULL,
    reader_id text NOT NULL,
    port integer NOT NULL,
    zone_code text NOT NULL,
    x double precision NOT NULL,
    y double precision NOT NULL,
    valid_from timestamptz,
    valid_to timestamptz,
    FOREIGN KEY (store_id, reader_id) REFERENCES reader (store_id, id) ON DELETE CASCADE
);
CREATE INDEX antenna_zone_lookup ON antenna_zone (store_id, reader_id, port);

CREATE TABLE tag (
    epc text PRIMARY KEY,
    kind text NOT NULL,
    store_id text,
    label text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_credential (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    role text NOT NULL CHECK (role IN ('edge', 'cashier', 'planner', 'admin')),
    store_id text,
    register_id text,
    token_sha256 bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE zone_visit (
    event_id uuid NOT NULL,
    store_id text NOT NULL,
    zone text NOT NULL,
    epc text NOT NULL,
    tag_kind text NOT NULL,
    enter_at timestamptz NOT NULL,
    exit_at timestamptz NOT NULL,
    dwell_s double precision GENERATED ALWAYS AS (extract(epoch FROM exit_at - enter_at)) STORED,
    reads integer NOT NULL,
    mean_rssi_dbm real NOT NULL,
    reader_id text NOT NULL,
    device_id text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, enter_at)
);
CREATE INDEX zone_visit_store_time ON zone_visit (store_id, enter_at);
CREATE INDEX zone_visit_store_tag ON zone_visit (store_id, epc, enter_at);

CREATE TABLE trip (
    trip_id uuid NOT NULL,
    store_id text NOT NULL,
    epc text NOT NULL,
    tag_kind text NOT NULL,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL,
    zones text[] NOT NULL,
    visit_count integer NOT NULL,
    PRIMARY KEY (trip_id, start_at),
    UNIQUE (store_id, epc, start_at)
);
CREATE INDEX trip_store_time ON trip (store_id, start_at);

CREATE TABLE device_heartbeat (
    device_id text PRIMARY KEY,
    store_id text NOT NULL,
    sent_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    outbox_depth integer NOT NULL,
    readers jsonb NOT NULL
);

CREATE TABLE card_scan (
    event_id uuid NOT NULL,
    store_id text NOT NULL,
    register_id text NOT NULL,
    card_number text NOT NULL,
    scanned_at timestamptz NOT NULL,
    scanner text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, scanned_at)
);
CREATE INDEX card_scan_register ON card_scan (store_id, register_id, scanned_at);
