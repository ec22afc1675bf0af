-- Hold-out groups for triggered contacts: a rule can keep a share of the members it triggers on
-- uncontacted, so the effect of contacting can be measured. A held-out task is recorded as done
-- at once with the outcome 'held_out'.
ALTER TABLE followup_rule ADD COLUMN holdout_share numeric(4, 3) NOT NULL DEFAULT 0
    CHECK (holdout_share >= 0 AND holdout_share < 1);
ALTER TABLE followup DROP CONSTRAINT followup_outcome_check;
ALTER TABLE followup ADD CONSTRAINT followup_outcome_check
    CHECK (outcome IN ('reached', 'no_answer', 'declined', 'not_needed', 'held_out'));
