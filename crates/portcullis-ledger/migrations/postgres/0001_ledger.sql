-- One ledger: its entries (the leaves), the hashes of its perfect subtrees, its signed head
-- and a checkpoint history, and the index of its tokens. This schema is the ledger's alone, owned by its own role.
CREATE TABLE entries (
    idx BIGINT PRIMARY KEY,          -- leaf index, from 0
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    actor TEXT,
    body BYTEA NOT NULL,               -- the bytes the leaf hashes
    leaf BYTEA NOT NULL                -- SHA-256(0x00 || body)
);
CREATE INDEX entries_actor ON entries (actor, idx);
CREATE INDEX entries_subject ON entries (subject, idx);

-- Perfect subtrees of height >= 1 (height 0 is entries.leaf); immutable once written.
CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

-- The latest signed tree head. Appenders take this row first, so appends never interleave.
CREATE TABLE head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    root BYTEA NOT NULL,
    checkpoint TEXT NOT NULL,
    at BIGINT NOT NULL
);

-- Earlier signed tree heads, at most one per second, for verification and proofs.
CREATE TABLE checkpoints (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    at BIGINT NOT NULL
);

-- Every token ever minted and its state now, derived from the entries.
CREATE TABLE tokens (
    token TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    burned BOOLEAN NOT NULL,
    attributes TEXT NOT NULL,
    last_idx BIGINT NOT NULL
);
CREATE INDEX tokens_owner ON tokens (owner);
