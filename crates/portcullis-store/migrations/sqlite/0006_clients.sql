-- Service accounts (OAuth 2.0 clients of the client-credentials grant). The secret is a
-- 256-bit random token kept only as its SHA-256; scopes are a JSON list.
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret_hash BLOB NOT NULL,
    scopes TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
