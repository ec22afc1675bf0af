-- The last tier review a member went through (downgrades wait for the next review date).
ALTER TABLE member ADD COLUMN last_review date;
UPDATE member SET last_review = joined_at::date;
ALTER TABLE member ALTER COLUMN last_review SET NOT NULL;
ALTER TABLE member ALTER COLUMN last_review SET DEFAULT current_date;
