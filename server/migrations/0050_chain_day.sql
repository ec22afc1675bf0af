-- The chain view's per-store day: the daily facts summed over hours and segments (and over
-- segments per counter), so a quarter of 50 stores is 4,500 rows instead of a scan of every
-- hour and segment. server/queries/chain.py fills a day again whenever its facts were
-- re-computed after it (source_refreshed_at differs from rollup_day.refreshed_at).
CREATE TABLE chain_store_day (
    store_id text NOT NULL,
    day date NOT NULL,
    source_refreshed_at timestamptz NOT NULL,
    entries integer NOT NULL,
    buying_trips integer NOT NULL,
    sales double precision NOT NULL,
    transactions integer NOT NULL,
    duration_s double precision NOT NULL,
    member_entries integer NOT NULL,
    zone_visits integer NOT NULL,
    zone_dwell_s double precision NOT NULL,
    PRIMARY KEY (store_id, day)
);
CREATE INDEX chain_store_day_day ON chain_store_day (day);

CREATE TABLE chain_counter_day (
    store_id text NOT NULL,
    day date NOT NULL,
    counter text NOT NULL,
    visitors integer NOT NULL,
    buyers integer NOT NULL,
    sales double precision NOT NULL,
    transactions integer NOT NULL,
    PRIMARY KEY (store_id, day, counter)
);
CREATE INDEX chain_counter_day_day ON chain_counter_day (day);
