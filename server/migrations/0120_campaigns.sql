-- Triggered contacts: trigger rules as data, runs that turn a rule into a contact list with a
-- random hold-out group, and an outbox the store's e-mail or SMS service is fed from. The logic
-- is server/crm/{triggers,contact_plan,uplift}.py and server/queries/campaigns.py.

CREATE TABLE campaign_rule (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('birthday', 'purchase_anniversary', 'lapse',
                                       'points_expiring', 'near_tier', 'browsed_not_bought')),
    store_id text REFERENCES store (id),             -- NULL: the whole chain
    definition jsonb NOT NULL,                       -- the rule (storeflow/api/campaigns.py)
    active boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- At most ``contacts`` contacts per member in any ``days`` days, over every rule.
CREATE TABLE campaign_cap (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    contacts integer NOT NULL CHECK (contacts >= 1),
    days integer NOT NULL CHECK (days >= 1)
);
INSERT INTO campaign_cap (contacts, days) VALUES (2, 14);

-- One run per rule and day: re-running answers the stored run.
CREATE TABLE campaign_run (
    id bigserial PRIMARY KEY,
    rule_id bigint NOT NULL REFERENCES campaign_rule (id),
    as_of date NOT NULL,
    starts_at timestamptz NOT NULL,                  -- the start of as_of in the store's zone
    definition jsonb NOT NULL,                       -- the rule as it was run
    seed bigint NOT NULL,                            -- of the hold-out draw
    holdout_share numeric(4, 3) NOT NULL,
    cap_contacts integer NOT NULL,
    cap_days integer NOT NULL,
    selected integer NOT NULL,
    not_tracked integer NOT NULL,
    not_contactable integer NOT NULL,
    cooled_down integer NOT NULL,
    capped integer NOT NULL,
    contacted integer NOT NULL,
    held_out integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    UNIQUE (rule_id, as_of)
);

-- The contact list of a run: who is contacted and who is held out, and why each was picked.
CREATE TABLE campaign_contact (
    run_id bigint NOT NULL REFERENCES campaign_run (id),
    member_id bigint NOT NULL REFERENCES member (id),
    held_out boolean NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (run_id, member_id)
);
CREATE INDEX campaign_contact_member ON campaign_contact (member_id);

-- What is to be handed to the store's messaging service: one row per contacted member. The
-- contact details are read when delivered (consent checked again then), never copied here.
CREATE TABLE campaign_outbox (
    id bigserial PRIMARY KEY,
    run_id bigint NOT NULL REFERENCES campaign_run (id),
    member_id bigint NOT NULL REFERENCES member (id),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'withdrawn')),
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    UNIQUE (run_id, member_id)
);
CREATE INDEX campaign_outbox_pending ON campaign_outbox (run_id) WHERE status = 'pending';
