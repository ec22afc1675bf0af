-- Member figures as of a day, per store (server/member_status.py): the five classes, RFM and
-- the purchase rhythm of every member, so the Members page and the lapse alerts are a query.

CREATE TABLE member_status_run (
    store_id text NOT NULL,
    as_of timestamptz NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    last_purchase_id bigint NOT NULL,      -- the newest sale the figures include
    bgnbd jsonb NOT NULL,                  -- the fitted r, alpha, a, b
    PRIMARY KEY (store_id, as_of)
);

CREATE TABLE member_status (
    store_id text NOT NULL,
    as_of timestamptz NOT NULL,
    member_id bigint NOT NULL,
    tier text NOT NULL,
    age_band text NOT NULL,
    gender text NOT NULL,
    primary_class text NOT NULL,
    is_core boolean NOT NULL,
    is_referrer boolean NOT NULL,
    referred_buyers integer NOT NULL,
    purchases_ever integer NOT NULL,
    purchases_window integer NOT NULL,
    sales_window double precision NOT NULL,
    last_purchase_at timestamptz,
    purchase_days integer NOT NULL,
    days_since double precision,
    median_interval_days double precision,
    p_alive double precision,
    recency_days double precision,
    frequency integer,
    monetary double precision,
    r smallint,
    f smallint,
    m smallint,
    rfm_segment text,
    PRIMARY KEY (store_id, as_of, member_id),
    FOREIGN KEY (store_id, as_of) REFERENCES member_status_run (store_id, as_of) ON DELETE CASCADE
);
