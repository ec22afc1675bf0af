-- Membership, second step: the linked trip's tag kept on the sale, and the ledger closed to
-- TRUNCATE as well as to UPDATE and DELETE.

-- The tag whose trip a sale is linked to (a member card or a cart), filled whenever trip_id is
-- set, so the link survives even if the trip row is later rebuilt.
ALTER TABLE purchase ADD COLUMN trip_epc text;

CREATE FUNCTION purchase_trip_epc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.trip_id IS NULL THEN
        NEW.trip_epc := NULL;
    ELSE
        NEW.trip_epc := (SELECT t.epc FROM trip t WHERE t.trip_id = NEW.trip_id LIMIT 1);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER purchase_trip_epc BEFORE INSERT OR UPDATE OF trip_id ON purchase
    FOR EACH ROW EXECUTE FUNCTION purchase_trip_epc();

UPDATE purchase p SET trip_epc = (SELECT t.epc FROM trip t WHERE t.trip_id = p.trip_id LIMIT 1)
    WHERE p.trip_id IS NOT NULL;

CREATE INDEX purchase_trip_epc ON purchase (trip_epc, at) WHERE trip_epc IS NOT NULL;

CREATE TRIGGER points_ledger_no_truncate BEFORE TRUNCATE ON points_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION points_ledger_append_only();
