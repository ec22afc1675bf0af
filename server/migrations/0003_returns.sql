-- Returns against an original purchase (full or partial), idempotent on the till's return id.
CREATE TABLE purchase_return (
    id bigserial PRIMARY KEY,
    purchase_id bigint NOT NULL REFERENCES purchase (id),
    return_id text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    amount numeric(12, 2) NOT NULL,
    points_reversed integer NOT NULL,
    shortfall integer NOT NULL,
    recorded_by text NOT NULL,
    UNIQUE (purchase_id, return_id)
);

CREATE TABLE purchase_return_line (
    return_pk bigint NOT NULL REFERENCES purchase_return (id),
    line_no integer NOT NULL,
    amount numeric(12, 2) NOT NULL CHECK (amount > 0),
    PRIMARY KEY (return_pk, line_no)
);
