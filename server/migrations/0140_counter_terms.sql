-- A counter's terms with the store (storeflow/layout.py): a rent per m² per month and/or a
-- commission on its sales; the store's target for its take per m² per month. All optional.
ALTER TABLE counter
    ADD COLUMN rent_per_m2 double precision CHECK (rent_per_m2 >= 0),
    ADD COLUMN commission_rate double precision
        CHECK (commission_rate > 0 AND commission_rate < 1);
ALTER TABLE store
    ADD COLUMN take_target_per_m2 double precision CHECK (take_target_per_m2 > 0);
