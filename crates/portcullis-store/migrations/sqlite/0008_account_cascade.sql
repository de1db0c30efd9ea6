-- Credentials that must not outlive their account reference the account's key row with
-- ON DELETE CASCADE. That row exists from the account's creation until the account is shredded,
-- so shredding (which deletes the key) removes the account's factors, recovery codes, one-time
-- codes and DualConfirm pairs with it; the tombstone, the revoked sessions, the spent mail
-- tokens and the audit log stay. A shredded account can take no new credentials either.
--
-- SQLite cannot change a constraint in place: each table is rebuilt (create the new table, copy,
-- drop the old one, rename; https://www.sqlite.org/lang_altertable.html#otheralter). No table
-- references these four, so foreign-key enforcement can stay on. Rows of accounts shredded
-- before this migration are not copied (shredding deleted them already).

CREATE TABLE factors_new (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES account_keys(account_id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    secret_ct BLOB,
    last_step INTEGER,
    created_at INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_used_at INTEGER
);
INSERT INTO factors_new (id, account_id, kind, label, secret_ct, last_step, created_at,
                         confirmed_at, last_used_at)
    SELECT id, account_id, kind, label, secret_ct, last_step, created_at, confirmed_at,
           last_used_at
    FROM factors WHERE account_id IN (SELECT account_id FROM account_keys);
DROP TABLE factors;
ALTER TABLE factors_new RENAME TO factors;
CREATE INDEX factors_account ON factors(account_id);

CREATE TABLE recovery_codes_new (
    account_id TEXT NOT NULL REFERENCES account_keys(account_id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (account_id, code_hash)
);
INSERT INTO recovery_codes_new (account_id, code_hash, created_at, used_at)
    SELECT account_id, code_hash, created_at, used_at
    FROM recovery_codes WHERE account_id IN (SELECT account_id FROM account_keys);
DROP TABLE recovery_codes;
ALTER TABLE recovery_codes_new RENAME TO recovery_codes;

CREATE TABLE otp_codes_new (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES account_keys(account_id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    code_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at INTEGER
);
INSERT INTO otp_codes_new (id, account_id, channel, target, code_hash, created_at, expires_at,
                           attempts, used_at)
    SELECT id, account_id, channel, target, code_hash, created_at, expires_at, attempts, used_at
    FROM otp_codes WHERE account_id IN (SELECT account_id FROM account_keys);
DROP TABLE otp_codes;
ALTER TABLE otp_codes_new RENAME TO otp_codes;
CREATE INDEX otp_codes_target ON otp_codes(account_id, channel, target);

CREATE TABLE dualconfirm_pairs_new (
    id TEXT PRIMARY KEY,
    advisor_id TEXT NOT NULL REFERENCES account_keys(account_id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES account_keys(account_id) ON DELETE CASCADE,
    secret_sealed BLOB NOT NULL,
    status TEXT NOT NULL,
    language TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (advisor_id, client_id)
);
INSERT INTO dualconfirm_pairs_new (id, advisor_id, client_id, secret_sealed, status, language,
                                   created_by, created_at, updated_at)
    SELECT id, advisor_id, client_id, secret_sealed, status, language, created_by, created_at,
           updated_at
    FROM dualconfirm_pairs
    WHERE advisor_id IN (SELECT account_id FROM account_keys)
      AND client_id IN (SELECT account_id FROM account_keys);
DROP TABLE dualconfirm_pairs;
ALTER TABLE dualconfirm_pairs_new RENAME TO dualconfirm_pairs;
CREATE INDEX dualconfirm_pairs_client ON dualconfirm_pairs(client_id);
