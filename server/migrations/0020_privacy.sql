-- Data rights (server/privacy/): consents per purpose with their channel, the log of privacy
-- requests (erasure) and of reads of members' personal data, the purge log, days whose raw data
-- retention removed (their daily facts are final), and edge EPC pseudonyms of registered cards.

-- Consent purposes: profiling joins in-store tracking and marketing. ``source`` stays who
-- recorded the choice; ``channel`` is how it was given (NULL on rows from enrolment).
ALTER TABLE consent DROP CONSTRAINT consent_purpose_check;
ALTER TABLE consent ADD CONSTRAINT consent_purpose_check
    CHECK (purpose IN ('marketing', 'in_store_tracking', 'profiling'));
ALTER TABLE consent ADD COLUMN channel text;

-- A key for keyed hashes when STOREFLOW_PRIVACY_SECRET is not set (demo, tests). The setting is
-- the better place: a key kept next to the data protects less.
CREATE TABLE privacy_key (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    secret bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Requests about a member's data (erasure) and their completion.
CREATE TABLE privacy_request (
    id bigserial PRIMARY KEY,
    member_id bigint NOT NULL,
    kind text NOT NULL CHECK (kind IN ('erasure')),
    requested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    requested_by text NOT NULL,
    completed_at timestamptz,
    detail jsonb
);
CREATE INDEX privacy_request_time ON privacy_request (requested_at);

-- Who read which member's personal data, when, through which endpoint.
CREATE TABLE privacy_access_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    credential_id bigint,
    credential_name text NOT NULL,
    role text NOT NULL,
    member_id bigint NOT NULL,
    endpoint text NOT NULL
);
CREATE INDEX privacy_access_log_time ON privacy_access_log (at);
CREATE INDEX privacy_access_log_member ON privacy_access_log (member_id, at);

-- One row per run of the retention purge.
CREATE TABLE privacy_purge_run (
    id bigserial PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    trigger text NOT NULL,
    cutoffs jsonb NOT NULL,
    deleted jsonb,
    error text
);

-- Days before ``sealed_before`` (store-local) lost raw data to retention: their facts are final,
-- so a later mark cannot make them be re-computed from what is left (and zeroed).
CREATE TABLE retention_seal (
    store_id text PRIMARY KEY,
    sealed_before date NOT NULL
);

CREATE FUNCTION rollup_day_keep_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.dirty_since IS NOT NULL AND EXISTS (
        SELECT 1 FROM retention_seal s WHERE s.store_id = NEW.store_id AND NEW.day < s.sealed_before
    ) THEN
        NEW.dirty_since := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER rollup_day_keep_sealed BEFORE INSERT OR UPDATE ON rollup_day
    FOR EACH ROW EXECUTE FUNCTION rollup_day_keep_sealed();

-- Pseudonymous EPCs from the edge: the edge's keyed hash of each registered card's EPC, per key
-- (``key_id`` names the key without revealing it), so visits match cards by the same hash.
CREATE TABLE card_epc_alias (
    key_id text NOT NULL,
    alias text NOT NULL,
    epc text NOT NULL,
    PRIMARY KEY (key_id, alias)
);
CREATE INDEX card_epc_alias_epc ON card_epc_alias (key_id, epc);

-- Consents are read over a member and the records merged into it.
CREATE INDEX member_merged_into ON member (merged_into) WHERE merged_into IS NOT NULL;
