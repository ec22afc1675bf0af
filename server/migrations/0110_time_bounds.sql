-- Time bounds for the look-ups that used to read every chunk of ``trip`` (a hypertable with
-- TimescaleDB), and the record of how far back raw data may have been dropped.

-- The longest trip of each store so far (an upper bound: deleting trips never lowers it). A trip
-- that ends at or after T started at or after T - max_span, so a look-up "trips of this tag still
-- open at T" can bound start_at and touch only the recent chunks.
CREATE TABLE trip_span (
    store_id text PRIMARY KEY,
    max_span interval NOT NULL
);

CREATE FUNCTION trip_span_grow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.end_at - NEW.start_at > coalesce(
        (SELECT max_span FROM trip_span WHERE store_id = NEW.store_id), interval '-1 second')
    THEN
        INSERT INTO trip_span AS s (store_id, max_span)
        VALUES (NEW.store_id, NEW.end_at - NEW.start_at)
        ON CONFLICT (store_id) DO UPDATE SET max_span = greatest(s.max_span, EXCLUDED.max_span);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER trip_span_grow AFTER INSERT OR UPDATE OF start_at, end_at ON trip
    FOR EACH ROW EXECUTE FUNCTION trip_span_grow();

INSERT INTO trip_span (store_id, max_span)
SELECT store_id, max(end_at - start_at) FROM trip GROUP BY store_id;

-- Raw visits and trips before greatest(now() - keep, dropped_before) may have been dropped by a
-- retention policy (server/timescale.py keeps this row); the daily facts of those days are final.
CREATE TABLE raw_retention (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    keep interval,
    dropped_before timestamptz
);

-- The sale's trip tag (migration 0010), looked up within the times a linked trip can have:
-- server/queries/membership.py links a sale to a trip that started before the sale (a cart's by
-- at most 2 min) and ended at most 15 min before it. Any other trip id falls back to the full
-- look-up, so the result is the same as before.
CREATE OR REPLACE FUNCTION purchase_trip_epc() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    span interval;
    lo timestamptz;
    hi timestamptz;
BEGIN
    IF NEW.trip_id IS NULL THEN
        NEW.trip_epc := NULL;
        RETURN NEW;
    END IF;
    span := coalesce((SELECT max_span FROM trip_span WHERE store_id = NEW.store_id),
                     interval '0');
    lo := NEW.at - span - interval '15 min';
    hi := NEW.at + interval '2 min';
    NEW.trip_epc := (SELECT t.epc FROM trip t
                     WHERE t.trip_id = NEW.trip_id AND t.start_at >= lo AND t.start_at <= hi
                     LIMIT 1);
    IF NEW.trip_epc IS NULL THEN
        NEW.trip_epc := (SELECT t.epc FROM trip t WHERE t.trip_id = NEW.trip_id LIMIT 1);
    END IF;
    RETURN NEW;
END $$;
