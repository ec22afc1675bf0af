-- The store's calendar: promotions, layout changes and other events a planner records, drawn
-- as markers on the dashboard's time-series charts (layout changes of the antenna mapping are
-- read from antenna_zone, not copied here).
CREATE TABLE store_event (
    id bigserial PRIMARY KEY,
    store_id text NOT NULL REFERENCES store (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('promotion', 'layout_change', 'other')),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    first_day date NOT NULL,
    last_day date NOT NULL,
    counters text[] NOT NULL DEFAULT '{}',
    recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CHECK (last_day >= first_day)
);
CREATE INDEX store_event_store_day ON store_event (store_id, first_day);
