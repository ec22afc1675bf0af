-- Customer relationships: a crm role (sees personal data), complaints with response and
-- resolution targets per severity, and follow-up tasks made by rules (as data) or by hand.

ALTER TABLE api_credential DROP CONSTRAINT api_credential_role_check;
ALTER TABLE api_credential ADD CONSTRAINT api_credential_role_check
    CHECK (role IN ('edge', 'cashier', 'register', 'planner', 'admin', 'crm'));

-- How soon a complaint of each severity must get a first response and be resolved.
CREATE TABLE complaint_target (
    severity text PRIMARY KEY CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    first_response_minutes integer NOT NULL CHECK (first_response_minutes > 0),
    resolution_minutes integer NOT NULL CHECK (resolution_minutes > 0)
);
INSERT INTO complaint_target VALUES
    ('low', 2 * 24 * 60, 14 * 24 * 60),
    ('medium', 24 * 60, 7 * 24 * 60),
    ('high', 4 * 60, 2 * 24 * 60),
    ('critical', 60, 24 * 60);

CREATE TABLE complaint (
    id bigserial PRIMARY KEY,
    member_id bigint REFERENCES member (id),          -- NULL: an anonymous complaint
    store_id text NOT NULL,
    channel text NOT NULL CHECK (channel IN ('in_store', 'phone', 'email', 'web', 'social')),
    category text NOT NULL,
    counter text,
    severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    text text NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    assignee text,
    assigned_at timestamptz,
    first_response_at timestamptz,
    resolved_at timestamptz,
    resolution text,
    on_the_spot boolean,                              -- resolved while the customer was there
    CHECK (resolved_at IS NULL OR resolved_at >= created_at),
    CHECK (first_response_at IS NULL OR first_response_at >= created_at)
);
CREATE INDEX complaint_member ON complaint (member_id, created_at);
CREATE INDEX complaint_open ON complaint (created_at) WHERE resolved_at IS NULL;

-- What happened to a complaint, in order (recorded, assigned, responded, resolved).
CREATE TABLE complaint_event (
    id bigserial PRIMARY KEY,
    complaint_id bigint NOT NULL REFERENCES complaint (id),
    at timestamptz NOT NULL,
    kind text NOT NULL CHECK (kind IN ('recorded', 'assigned', 'responded', 'resolved')),
    actor text NOT NULL,
    text text
);
CREATE INDEX complaint_event_complaint ON complaint_event (complaint_id, at);

-- Rules that make follow-up tasks from events; the logic is server/crm/rules.py.
CREATE TABLE followup_rule (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    trigger text NOT NULL CHECK (trigger IN ('purchase', 'complaint_resolved', 'tier_upgrade')),
    min_amount numeric(12, 2),        -- purchase: the total must be at least this
    tier text,                        -- tier_upgrade: only upgrades to this tier (NULL: any)
    due_days integer NOT NULL DEFAULT 3 CHECK (due_days >= 0),
    title text NOT NULL,
    active boolean NOT NULL DEFAULT true
);
INSERT INTO followup_rule (name, trigger, min_amount, tier, due_days, title) VALUES
    ('big purchase', 'purchase', 2000, NULL, 3, 'Thank the member for a large purchase'),
    ('complaint resolved', 'complaint_resolved', NULL, NULL, 7,
        'Check the member is happy with how the complaint was resolved'),
    ('tier upgrade', 'tier_upgrade', NULL, NULL, 5, 'Welcome the member to the new tier');

CREATE TABLE followup (
    id bigserial PRIMARY KEY,
    member_id bigint NOT NULL REFERENCES member (id),
    rule_id bigint REFERENCES followup_rule (id),     -- NULL: made by hand
    source text NOT NULL,                             -- 'purchase:12', 'complaint:3', 'manual'
    title text NOT NULL,
    note text,
    due_on date NOT NULL,
    assignee text,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    done_at timestamptz,
    outcome text CHECK (outcome IN ('reached', 'no_answer', 'declined', 'not_needed')),
    outcome_note text,
    CHECK ((done_at IS NULL) = (outcome IS NULL))
);
-- A rule makes at most one task per source event, so sweeps can be re-run.
CREATE UNIQUE INDEX followup_once ON followup (rule_id, source) WHERE rule_id IS NOT NULL;
CREATE INDEX followup_open ON followup (due_on) WHERE done_at IS NULL;
CREATE INDEX followup_member ON followup (member_id);

-- Tier changes numbered in the order they are recorded (a late sale can upgrade "in the past").
ALTER TABLE tier_history ADD COLUMN seq bigserial;

-- How far the follow-up sweep has read purchases and tier changes (in recording order).
CREATE TABLE followup_sweep (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    purchase_id bigint NOT NULL DEFAULT 0,
    tier_seq bigint NOT NULL DEFAULT 0
);
INSERT INTO followup_sweep DEFAULT VALUES;

-- crm credentials: a store, or none (customer care may serve the whole chain); no register
ALTER TABLE api_credential DROP CONSTRAINT api_credential_scope;
ALTER TABLE api_credential ADD CONSTRAINT api_credential_scope CHECK (
    revoked_at IS NOT NULL
    OR CASE role
        WHEN 'admin' THEN NOT chain
        WHEN 'crm' THEN NOT chain
        WHEN 'planner' THEN (store_id IS NOT NULL) <> chain
        WHEN 'edge' THEN store_id IS NOT NULL AND NOT chain
        ELSE store_id IS NOT NULL AND register_id IS NOT NULL AND NOT chain
    END
);
