-- API keys of front-end applications (sent as X-API-Key). The key is a 256-bit random token
-- kept only as its SHA-256, looked up by that hash; `prefix` is its public start, shown in
-- lists. Scopes and allowed origins are JSON lists; `rate_per_minute` NULL: the configured
-- default. A revoked key keeps its row (revoked_at set) for the audit trail.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    origins TEXT NOT NULL,
    rate_per_minute INTEGER,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    last_used_at INTEGER
);
