-- Sales in the facts are net of returns, dated by the original sale: a return makes the day of
-- the sale it returns dirty, so its facts are computed again (server/rollup.py).
CREATE FUNCTION purchase_return_marks_sale_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rollup_day AS r (store_id, day, dirty_since)
    SELECT p.store_id,
           (p.at AT TIME ZONE coalesce((SELECT timezone FROM store WHERE id = p.store_id),
                                       'UTC'))::date,
           now()
    FROM purchase p WHERE p.id = NEW.purchase_id
    ON CONFLICT (store_id, day) DO UPDATE SET version = r.version + 1,
        dirty_since = coalesce(r.dirty_since, now());
    RETURN NEW;
END $$;

CREATE TRIGGER purchase_return_marks_sale_day AFTER INSERT ON purchase_return
FOR EACH ROW EXECUTE FUNCTION purchase_return_marks_sale_day();

-- the facts computed so far hold gross sales
UPDATE rollup_day SET dirty_since = now(), version = version + 1;
