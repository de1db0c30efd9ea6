-- One-time codes sent by e-mail or SMS, bound to what they prove (a factor being enrolled or
-- a login challenge); kept only as keyed hashes.
CREATE TABLE otp_codes (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    code_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at INTEGER
);
CREATE INDEX otp_codes_target ON otp_codes(account_id, channel, target);
