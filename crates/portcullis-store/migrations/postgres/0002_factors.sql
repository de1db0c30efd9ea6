-- Second factors. Secrets are sealed with the owning account's data key.
CREATE TABLE factors (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    secret_ct BYTEA,
    last_step BIGINT,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX factors_account ON factors(account_id);

-- Recovery codes, stored only as keyed hashes; each usable once.
CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    code_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (account_id, code_hash)
);
