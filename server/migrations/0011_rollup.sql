-- Daily facts: per store-local day, what the planner's analyses read, so a quarter of a busy
-- store answers as fast as a day. server/rollup.py fills them from zone_visit, trip and purchase
-- and re-computes a day when new data for it arrives (rollup_day.dirty_since).
-- ``segment``: the member's tier for member-card trips, 'non-member' for carts and baskets.

CREATE TABLE rollup_day (
    store_id text NOT NULL,
    day date NOT NULL,
    version bigint NOT NULL DEFAULT 1,       -- bumped on every new mark
    dirty_since timestamptz,                 -- NULL: the facts are up to date
    refreshed_at timestamptz,
    PRIMARY KEY (store_id, day)
);

-- Per hour of the day: entries (trips starting), trips that bought, sales (by purchase time),
-- trip seconds spent inside the hour (occupancy = occupancy_s / 3600), trip lengths.
CREATE TABLE fact_hour (
    store_id text NOT NULL,
    day date NOT NULL,
    hour smallint NOT NULL,
    segment text NOT NULL,
    entries integer NOT NULL DEFAULT 0,
    buying_trips integer NOT NULL DEFAULT 0,
    sales double precision NOT NULL DEFAULT 0,
    transactions integer NOT NULL DEFAULT 0,
    occupancy_s double precision NOT NULL DEFAULT 0,
    duration_s double precision NOT NULL DEFAULT 0,   -- sum over the entries' trips
    zones integer NOT NULL DEFAULT 0,                  -- sum of the entries' path lengths
    PRIMARY KEY (store_id, day, hour, segment)
);

-- Per zone: visits (dated by enter), distinct tags, dwell sum; dwell distribution in bins.
CREATE TABLE fact_zone (
    store_id text NOT NULL,
    day date NOT NULL,
    zone text NOT NULL,
    segment text NOT NULL,
    visits integer NOT NULL,
    visitors integer NOT NULL,
    dwell_s double precision NOT NULL,
    PRIMARY KEY (store_id, day, zone, segment)
);

CREATE TABLE fact_zone_dwell (
    store_id text NOT NULL,
    day date NOT NULL,
    zone text NOT NULL,
    segment text NOT NULL,
    bin smallint NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (store_id, day, zone, segment, bin)
);

-- Per counter: visitor trips (total dwell in its zone >= 30 s, dated by the trip's start),
-- those that bought at the counter, the counter's sales and transactions (by purchase time).
CREATE TABLE fact_counter (
    store_id text NOT NULL,
    day date NOT NULL,
    counter text NOT NULL,
    segment text NOT NULL,
    visitors integer NOT NULL DEFAULT 0,
    buyers integer NOT NULL DEFAULT 0,
    sales double precision NOT NULL DEFAULT 0,
    transactions integer NOT NULL DEFAULT 0,
    PRIMARY KEY (store_id, day, counter, segment)
);

CREATE TABLE fact_counter_dwell (
    store_id text NOT NULL,
    day date NOT NULL,
    counter text NOT NULL,
    segment text NOT NULL,
    bin smallint NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (store_id, day, counter, segment, bin)
);

-- Paths (a trip's zone sequence) and zone-to-zone moves.
CREATE TABLE fact_path (
    store_id text NOT NULL,
    day date NOT NULL,
    segment text NOT NULL,
    path text[] NOT NULL,
    trips integer NOT NULL,
    PRIMARY KEY (store_id, day, segment, path)
);

CREATE TABLE fact_transition (
    store_id text NOT NULL,
    day date NOT NULL,
    segment text NOT NULL,
    source text NOT NULL,
    target text NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (store_id, day, segment, source, target)
);

-- Path efficiency (Hui, Fader & Bradlow): sums over the day's trips with a defined efficiency.
CREATE TABLE fact_efficiency (
    store_id text NOT NULL,
    day date NOT NULL,
    segment text NOT NULL,
    buying boolean NOT NULL,
    trips integer NOT NULL,
    efficiency double precision NOT NULL,      -- sum of per-trip efficiency
    walked double precision NOT NULL,
    shortest double precision NOT NULL,
    order_deviation double precision NOT NULL,
    travel_deviation double precision NOT NULL,
    PRIMARY KEY (store_id, day, segment, buying)
);

-- Every day that already has data needs its facts.
INSERT INTO rollup_day (store_id, day, dirty_since)
SELECT v.store_id, (v.enter_at AT TIME ZONE coalesce(s.timezone, 'UTC'))::date, now()
FROM zone_visit v LEFT JOIN store s ON s.id = v.store_id
GROUP BY 1, 2
ON CONFLICT DO NOTHING;

-- A tag's member (for the segment), whatever the card's status.
CREATE INDEX card_epc ON card (epc);
