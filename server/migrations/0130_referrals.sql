-- Referrals: every member has a referral code to give to friends; a friend enrolling with it
-- records the member as referrer (member.referrer_id, since 0002). The reward for a referral
-- (earning rules, server/loyalty/rules.py) is paid once, on the referred member's first
-- purchase, and recorded in referral_reward so it is never paid twice.

-- Eight characters from 32 without look-alikes (no 0/O, 1/I), random, not yet in use.
CREATE FUNCTION new_referral_code() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    alphabet constant text := 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    raw bytea;
    i int;
    code text;
BEGIN
    LOOP
        raw := uuid_send(gen_random_uuid());
        code := '';
        -- bytes 0-5 and 10-15 of a version 4 UUID are random (6 and 8 carry version bits)
        FOREACH i IN ARRAY ARRAY[0, 1, 2, 3, 4, 5, 10, 11] LOOP
            code := code || substr(alphabet, 1 + get_byte(raw, i) % length(alphabet), 1);
        END LOOP;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM member WHERE referral_code = code);
    END LOOP;
    RETURN code;
END $$;

ALTER TABLE member ADD COLUMN referral_code text;
DO $$
DECLARE
    r record;
BEGIN
    -- one statement per member, so each new code sees the ones given before it
    FOR r IN SELECT id FROM member WHERE erased_at IS NULL ORDER BY id LOOP
        UPDATE member SET referral_code = new_referral_code() WHERE id = r.id;
    END LOOP;
END $$;
ALTER TABLE member ALTER COLUMN referral_code SET DEFAULT new_referral_code();
CREATE UNIQUE INDEX member_referral_code ON member (referral_code);

-- Nobody refers themselves.
ALTER TABLE member ADD CONSTRAINT member_not_own_referrer
    CHECK (referrer_id IS NULL OR referrer_id <> id);
CREATE INDEX member_referrer ON member (referrer_id) WHERE referrer_id IS NOT NULL;

-- The reward of one referral, paid on the referred member's first purchase (at most once).
CREATE TABLE referral_reward (
    member_id bigint PRIMARY KEY REFERENCES member (id),     -- the referred member
    referrer_id bigint NOT NULL REFERENCES member (id),      -- who was paid (the record in use)
    purchase_id bigint REFERENCES purchase (id) ON DELETE SET NULL,  -- the first purchase
    at timestamptz NOT NULL,
    referrer_points integer NOT NULL CHECK (referrer_points >= 0),
    member_points integer NOT NULL CHECK (member_points >= 0)
);
CREATE INDEX referral_reward_referrer ON referral_reward (referrer_id);
