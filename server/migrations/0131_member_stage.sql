-- Stage history: each member's class (server/analysis/members.py) as of the days the class
-- analysis ran, kept after the run itself is replaced (member_status keeps the newest two runs).
-- One row per store, member and day: a second run for the same day replaces its rows.

CREATE TABLE member_stage (
    store_id text NOT NULL,
    member_id bigint NOT NULL REFERENCES member (id),
    as_of date NOT NULL,                 -- the last store-local day the figures include
    member_class text NOT NULL,          -- core, loyal, occasional, potential (or unprofiled)
    is_referrer boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store_id, member_id, as_of)
);
CREATE INDEX member_stage_day ON member_stage (store_id, as_of);
CREATE INDEX member_stage_member ON member_stage (member_id, as_of);
