-- The chain view reads one period of every store: index the daily facts it reads by day too
-- (their primary keys lead with the store).
CREATE INDEX fact_hour_day ON fact_hour (day);
CREATE INDEX fact_zone_day ON fact_zone (day);
CREATE INDEX fact_counter_day ON fact_counter (day);
