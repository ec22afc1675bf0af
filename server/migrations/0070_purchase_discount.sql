-- Each sale's tier discount (rate and amount), what the customer paid (NULL on sales recorded
-- before this: total - discount), and who confirmed a sale above the per-sale limit.
ALTER TABLE purchase
    ADD COLUMN discount_rate numeric(5, 4) NOT NULL DEFAULT 0,
    ADD COLUMN discount numeric(12, 2) NOT NULL DEFAULT 0,
    ADD COLUMN amount_due numeric(12, 2),
    ADD COLUMN supervisor text;
