-- The tag registry decides what a tag is (server/queries/tags.py): the `tag` table (member cards
-- when a card is issued; carts, baskets, staff badges and member cards registered per store) and
-- the `card` table. Tags it does not know keep their visits under a keyed-hash pseudonym; the
-- pattern of each such tag (scheme, company, object class; never its serial) is kept apart, so
-- store IT can see which tags they are and register them.
ALTER TABLE tag ADD CONSTRAINT tag_kind_registered
    CHECK (kind IN ('member_card', 'cart', 'basket', 'staff'));
ALTER TABLE tag ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX tag_store ON tag (store_id, kind);

-- One secret per database for the pseudonyms of unknown tags (HMAC-SHA256 of the EPC).
CREATE TABLE tag_pseudonym_key (
    id integer PRIMARY KEY CHECK (id = 1),
    key bytea NOT NULL
);
INSERT INTO tag_pseudonym_key (id, key)
VALUES (1, decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));

CREATE TABLE unknown_tag (
    store_id text NOT NULL,
    pseudonym text NOT NULL,
    scheme text NOT NULL,
    bits integer NOT NULL,
    company text,
    object_class integer,
    hex_prefix text NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen timestamptz NOT NULL,
    PRIMARY KEY (store_id, pseudonym)
);
