-- Units sold (the quantities of the sales' lines, net of returns) next to sales and
-- transactions, for units per transaction (docs/metrics.md#atv-and-upt).
ALTER TABLE fact_hour ADD COLUMN units double precision NOT NULL DEFAULT 0;
ALTER TABLE fact_counter ADD COLUMN units double precision NOT NULL DEFAULT 0;

-- the facts computed so far have no units
UPDATE rollup_day SET dirty_since = now(), version = version + 1;
