-- One ledger: its entries (the leaves), the hashes of its perfect subtrees, its signed head
-- and a checkpoint history, and the index of its tokens. This file is the ledger's alone.
CREATE TABLE entries (
    idx INTEGER PRIMARY KEY,          -- leaf index, from 0
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    actor TEXT,
    body BLOB NOT NULL,               -- the bytes the leaf hashes
    leaf BLOB NOT NULL                -- SHA-256(0x00 || body)
);
CREATE INDEX entries_actor ON entries (actor, idx);
CREATE INDEX entries_subject ON entries (subject, idx);

-- Perfect subtrees of height >= 1 (height 0 is entries.leaf); immutable once written.
CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- The latest signed tree head. Appenders take this row first, so appends never interleave.
CREATE TABLE head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    checkpoint TEXT NOT NULL,
    at INTEGER NOT NULL
);

-- Earlier signed tree heads, at most one per second, for verification and proofs.
CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    at INTEGER NOT NULL
);

-- Every token ever minted and its state now, derived from the entries.
CREATE TABLE tokens (
    token TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    burned BOOLEAN NOT NULL,
    attributes TEXT NOT NULL,
    last_idx INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_owner ON tokens (owner);
