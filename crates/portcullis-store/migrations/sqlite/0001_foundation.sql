-- Accounts: personal data only as AES-256-GCM ciphertext; e-mail look-up through a keyed blind index.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email_index BLOB UNIQUE,
    email_ct BLOB NOT NULL,
    phone_ct BLOB,
    display_name_ct BLOB,
    password_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    verified_at INTEGER
);

-- One wrapped data key per account; deleting the row shreds the account's personal data.
CREATE TABLE account_keys (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    master_version INTEGER NOT NULL,
    wrapped BLOB NOT NULL
);

-- Single-use links sent by mail (verification, password reset), stored hashed.
CREATE TABLE email_tokens (
    hash BLOB PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    purpose TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX email_tokens_account ON email_tokens(account_id, purpose);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_reason TEXT,
    user_agent TEXT,
    ip TEXT
);
CREATE INDEX sessions_account ON sessions(account_id);

-- Refresh tokens: a family per session; a spent token presented again revokes the session.
CREATE TABLE refresh_tokens (
    hash BLOB PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE login_challenges (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Consecutive login failures per blind index (known or unknown e-mail alike).
CREATE TABLE login_throttle (
    key BLOB PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL
);

-- Durable mail queue; payloads sealed by the keyring, erased once sent.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    payload BLOB NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    claimed_until INTEGER,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    dead BOOLEAN NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(sent_at, next_attempt_at);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    actor TEXT,
    subject TEXT,
    ip TEXT,
    detail TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, X'0000000000000000000000000000000000000000000000000000000000000000');
CREATE INDEX audit_log_actor ON audit_log(actor);
