-- Referral rewards taken back: a reward stands while the referred member keeps a purchase whose
-- net amount (total less what was returned of it) reaches the rule's min_purchase and is above
-- zero. When a return takes the purchase the reward was paid on below that, the reward moves to
-- another such purchase of the member, or else its points are reversed through the ledger and
-- the row is marked reversed; the next qualifying purchase pays the reward again
-- (server/queries/referrals.py). Reversed rows stay as history: at most one reward per referred
-- member is in force at a time.

ALTER TABLE referral_reward DROP CONSTRAINT referral_reward_pkey;
ALTER TABLE referral_reward ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
ALTER TABLE referral_reward
    ADD COLUMN min_purchase numeric(12, 2) NOT NULL DEFAULT 0,  -- the rule's, when it was paid
    ADD COLUMN referrer_lot_id bigint REFERENCES points_lot (id),  -- the lots the reward made
    ADD COLUMN member_lot_id bigint REFERENCES points_lot (id),
    ADD COLUMN reversed_at timestamptz,
    ADD COLUMN reversed_by text;           -- the return that took it back: return:<sale>:<id>
ALTER TABLE referral_reward ALTER COLUMN min_purchase DROP DEFAULT;
CREATE UNIQUE INDEX referral_reward_in_force ON referral_reward (member_id)
    WHERE reversed_at IS NULL;
CREATE INDEX referral_reward_purchase ON referral_reward (purchase_id)
    WHERE reversed_at IS NULL;

-- Rewards paid before: the lots from their ledger entries (the reward names the referred member
-- in ref); their minimum is unknown and left at 0, so only a full return takes them back.
UPDATE referral_reward w SET
    referrer_lot_id = (
        SELECT e.lot_id FROM points_ledger e
         WHERE e.kind = 'earn' AND e.ref = 'referral:' || w.member_id
           AND e.member_id = w.referrer_id
         ORDER BY e.id DESC LIMIT 1),
    member_lot_id = (
        SELECT e.lot_id FROM points_ledger e
         WHERE e.kind = 'earn' AND e.ref = 'referral:' || w.member_id
           AND e.member_id = w.member_id
         ORDER BY e.id DESC LIMIT 1);
