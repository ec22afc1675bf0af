-- Credential scopes: a till's card scanner gets its own role; edge devices and tills must be
-- bound to a store (tills and scanners to a register too); a planner is bound to a store unless
-- it says it is for the whole chain. Credentials minted before without the scope they now
-- need could act for any store: they are revoked (mint new ones).

ALTER TABLE api_credential DROP CONSTRAINT IF EXISTS api_credential_role_check;
ALTER TABLE api_credential ADD CONSTRAINT api_credential_role_check
    CHECK (role IN ('edge', 'cashier', 'register', 'planner', 'admin'));

ALTER TABLE api_credential ADD COLUMN chain boolean NOT NULL DEFAULT false;

UPDATE api_credential SET chain = true WHERE role = 'planner' AND store_id IS NULL;

UPDATE api_credential SET revoked_at = now()
WHERE revoked_at IS NULL
  AND ((role = 'edge' AND store_id IS NULL)
       OR (role IN ('cashier', 'register') AND (store_id IS NULL OR register_id IS NULL)));

ALTER TABLE api_credential ADD CONSTRAINT api_credential_scope CHECK (
    revoked_at IS NOT NULL
    OR CASE role
        WHEN 'admin' THEN NOT chain
        WHEN 'planner' THEN (store_id IS NOT NULL) <> chain
        WHEN 'edge' THEN store_id IS NOT NULL AND NOT chain
        ELSE store_id IS NOT NULL AND register_id IS NOT NULL AND NOT chain
    END
);
