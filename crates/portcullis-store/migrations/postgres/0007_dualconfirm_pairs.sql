-- DualConfirm pairs: an advisor and a client who verify each other on phone calls. The
-- pair's secret is sealed with the keyring (associated data: the pair id); the words derived
-- from it are never stored. An advisor's invitation is a pair in status 'invited' until the
-- client accepts it. Both sides say words from the pair's language list.
CREATE TABLE dualconfirm_pairs (
    id TEXT PRIMARY KEY,
    advisor_id TEXT NOT NULL REFERENCES accounts(id),
    client_id TEXT NOT NULL REFERENCES accounts(id),
    secret_sealed BYTEA NOT NULL,
    status TEXT NOT NULL,
    language TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (advisor_id, client_id)
);
CREATE INDEX dualconfirm_pairs_client ON dualconfirm_pairs(client_id);
