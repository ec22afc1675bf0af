-- Month ends of the class history: the monthly transitions (server/queries/stages.py) compare
-- each member's last snapshot of a month with their last one before it, so only those rows are
-- read. month_end marks a member's last snapshot of a calendar month in a store; triggers keep
-- it true on exactly that row whoever inserts or deletes snapshots (a run's snapshot, the
-- demo's planted months, erasure, the retention purge), and a partial index holds the marked
-- rows in member order with their class, so the transitions read them from the index alone
-- (one row per member and month instead of one per member and day).

ALTER TABLE member_stage ADD COLUMN month_end boolean NOT NULL DEFAULT false;

UPDATE member_stage s SET month_end = true
  FROM (SELECT DISTINCT ON (store_id, member_id, date_trunc('month', as_of::timestamp))
               store_id, member_id, as_of
          FROM member_stage
         ORDER BY store_id, member_id, date_trunc('month', as_of::timestamp), as_of DESC) l
 WHERE s.store_id = l.store_id AND s.member_id = l.member_id AND s.as_of = l.as_of;

CREATE INDEX member_stage_month_ends ON member_stage (store_id, member_id, as_of)
    INCLUDE (member_class) WHERE month_end;

-- Inserted rows come marked (the column's default): of the marked rows of each member's month
-- a statement touched, all but the newest are cleared. A row inserted unmarked is marked first.
ALTER TABLE member_stage ALTER COLUMN month_end SET DEFAULT true;

CREATE FUNCTION member_stage_month_end_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE member_stage s SET month_end = true
      FROM inserted i
     WHERE NOT i.month_end AND s.store_id = i.store_id AND s.member_id = i.member_id
       AND s.as_of = i.as_of AND NOT s.month_end;
    UPDATE member_stage s SET month_end = false
      FROM (SELECT DISTINCT store_id, member_id,
                   date_trunc('month', as_of::timestamp)::date AS month
              FROM inserted) t
     WHERE s.month_end AND s.store_id = t.store_id AND s.member_id = t.member_id
       AND s.as_of >= t.month AND s.as_of < t.month + interval '1 month'
       AND EXISTS (
           SELECT 1 FROM member_stage x
            WHERE x.month_end AND x.store_id = s.store_id AND x.member_id = s.member_id
              AND x.as_of > s.as_of AND x.as_of < t.month + interval '1 month');
    RETURN NULL;
END $$;

CREATE TRIGGER member_stage_month_end_insert AFTER INSERT ON member_stage
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION member_stage_month_end_inserted();

-- Deleted month ends: the newest row left of that member's month (if any) takes over.
CREATE FUNCTION member_stage_month_end_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE member_stage s SET month_end = true
      FROM (SELECT DISTINCT ON (d.store_id, d.member_id, d.month) x.store_id, x.member_id, x.as_of
              FROM (SELECT DISTINCT store_id, member_id,
                           date_trunc('month', as_of::timestamp) AS month
                      FROM deleted WHERE month_end) d
              JOIN member_stage x ON x.store_id = d.store_id AND x.member_id = d.member_id
               AND x.as_of >= d.month AND x.as_of < d.month + interval '1 month'
             ORDER BY d.store_id, d.member_id, d.month, x.as_of DESC) l
     WHERE s.store_id = l.store_id AND s.member_id = l.member_id AND s.as_of = l.as_of;
    RETURN NULL;
END $$;

CREATE TRIGGER member_stage_month_end_delete AFTER DELETE ON member_stage
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION member_stage_month_end_deleted();
