-- Membership: members, consents, cards (with their RFID tags), purchases, points, tiers.

CREATE TABLE member (
    id bigserial PRIMARY KEY,
    member_no text NOT NULL UNIQUE,
    name text NOT NULL,
    phone text,
    email text,
    birth_date date,
    gender text NOT NULL DEFAULT 'unknown'
        CHECK (gender IN ('female', 'male', 'other', 'unknown')),
    joined_at timestamptz NOT NULL DEFAULT now(),
    referrer_id bigint REFERENCES member (id),
    tier text NOT NULL DEFAULT 'Member',
    tier_since timestamptz NOT NULL DEFAULT now(),
    merged_into bigint REFERENCES member (id),
    erased_at timestamptz
);
CREATE UNIQUE INDEX member_phone_unique ON member (phone)
    WHERE phone IS NOT NULL AND merged_into IS NULL;
CREATE UNIQUE INDEX member_email_unique ON member (lower(email))
    WHERE email IS NOT NULL AND merged_into IS NULL;
CREATE SEQUENCE member_no_seq START 100001;

-- Consents are recorded, never overwritten: the latest row per purpose is in force.
CREATE TABLE consent (
    member_id bigint NOT NULL REFERENCES member (id),
    purpose text NOT NULL CHECK (purpose IN ('marketing', 'in_store_tracking')),
    granted boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    source text NOT NULL,
    PRIMARY KEY (member_id, purpose, recorded_at)
);

-- A card: the number the till scans and, inside it, a UHF tag (EPC). Only active cards work.
CREATE TABLE card (
    card_number text PRIMARY KEY,
    member_id bigint NOT NULL REFERENCES member (id),
    epc text,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'lost', 'replaced')),
    issued_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    replaced_by text REFERENCES card (card_number)
);
CREATE UNIQUE INDEX card_active_epc ON card (epc) WHERE status = 'active' AND epc IS NOT NULL;
CREATE INDEX card_member ON card (member_id);

CREATE TABLE purchase (
    id bigserial PRIMARY KEY,
    store_id text NOT NULL,
    register_id text NOT NULL,
    pos_id text NOT NULL,
    at timestamptz NOT NULL,
    member_id bigint REFERENCES member (id),
    card_number text,
    total numeric(12, 2) NOT NULL,
    points_earned integer NOT NULL DEFAULT 0,
    trip_id uuid,
    recorded_by text NOT NULL,
    UNIQUE (store_id, pos_id)
);
CREATE INDEX purchase_member_time ON purchase (member_id, at);
CREATE INDEX purchase_store_time ON purchase (store_id, at);

CREATE TABLE purchase_line (
    purchase_id bigint NOT NULL REFERENCES purchase (id),
    line_no integer NOT NULL,
    sku text NOT NULL,
    counter text,
    category text,
    quantity numeric(12, 3) NOT NULL,
    amount numeric(12, 2) NOT NULL,
    points integer NOT NULL,
    PRIMARY KEY (purchase_id, line_no)
);

-- Points come in lots (one per earn) spent oldest first; ``remaining`` is kept in step with the
-- ledger inside the same transaction, and can always be recomputed from it.
CREATE TABLE points_lot (
    id bigserial PRIMARY KEY,
    member_id bigint NOT NULL REFERENCES member (id),
    earned_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    points integer NOT NULL CHECK (points > 0),
    remaining integer NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    purchase_id bigint REFERENCES purchase (id)
);
CREATE INDEX points_lot_member ON points_lot (member_id, expires_at);

CREATE TABLE points_ledger (
    id bigserial PRIMARY KEY,
    member_id bigint NOT NULL REFERENCES member (id),
    kind text NOT NULL CHECK (kind IN ('earn', 'redeem', 'expire', 'reverse', 'adjust')),
    points integer NOT NULL,
    lot_id bigint REFERENCES points_lot (id),
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    reason text NOT NULL,
    ref text
);
CREATE INDEX points_ledger_member ON points_ledger (member_id, at);

CREATE FUNCTION points_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'points_ledger is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER points_ledger_no_change BEFORE UPDATE OR DELETE ON points_ledger
    FOR EACH ROW EXECUTE FUNCTION points_ledger_append_only();

CREATE TABLE redemption (
    member_id bigint NOT NULL REFERENCES member (id),
    idempotency_key text NOT NULL,
    points integer NOT NULL CHECK (points > 0),
    store_id text NOT NULL,
    register_id text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, idempotency_key)
);

CREATE TABLE tier_history (
    member_id bigint NOT NULL REFERENCES member (id),
    tier text NOT NULL,
    since timestamptz NOT NULL,
    reason text NOT NULL
);
