-- Distinct shopper tags per day and segment as HyperLogLog sketches (server/hll.py), so the
-- shoppers of any run of days come from the facts instead of a scan of every trip. Segment '*'
-- holds every shopper of the day (the unfiltered read).
CREATE TABLE fact_shoppers (
    store_id text NOT NULL,
    day date NOT NULL,
    segment text NOT NULL,
    trips integer NOT NULL,
    sketch bytea NOT NULL,
    PRIMARY KEY (store_id, day, segment)
);

UPDATE rollup_day SET dirty_since = now(), version = version + 1;
