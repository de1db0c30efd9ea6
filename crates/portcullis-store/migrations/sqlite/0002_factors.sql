-- Second factors. Secrets are sealed with the owning account's data key.
CREATE TABLE factors (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    secret_ct BLOB,
    last_step INTEGER,
    created_at INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_used_at INTEGER
);
CREATE INDEX factors_account ON factors(account_id);

-- Recovery codes, stored only as keyed hashes; each usable once.
CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    code_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (account_id, code_hash)
);
