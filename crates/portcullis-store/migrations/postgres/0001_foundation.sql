-- Accounts: personal data only as AES-256-GCM ciphertext; e-mail look-up through a keyed blind index.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email_index BYTEA UNIQUE,
    email_ct BYTEA NOT NULL,
    phone_ct BYTEA,
    display_name_ct BYTEA,
    password_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    verified_at BIGINT
);

-- One wrapped data key per account; deleting the row shreds the account's personal data.
CREATE TABLE account_keys (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id),
    master_version BIGINT NOT NULL,
    wrapped BYTEA NOT NULL
);

-- Single-use links sent by mail (verification, password reset), stored hashed.
CREATE TABLE email_tokens (
    hash BYTEA PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_tokens_account ON email_tokens(account_id, purpose);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    acr TEXT NOT NULL,
    amr TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_expires_at BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_reason TEXT,
    user_agent TEXT,
    ip TEXT
);
CREATE INDEX sessions_account ON sessions(account_id);

-- Refresh tokens: a family per session; a spent token presented again revokes the session.
CREATE TABLE refresh_tokens (
    hash BYTEA PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE login_challenges (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Consecutive login failures per blind index (known or unknown e-mail alike).
CREATE TABLE login_throttle (
    key BYTEA PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);

-- Durable mail queue; payloads sealed by the keyring, erased once sent.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    payload BYTEA NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    dead BOOLEAN NOT NULL DEFAULT FALSE,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(sent_at, next_attempt_at);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    actor TEXT,
    subject TEXT,
    ip TEXT,
    detail TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL
);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
CREATE INDEX audit_log_actor ON audit_log(actor);
