-- Custodial wallets: secp256k1 keys generated and kept by the server for an account.
--
-- The private key is sealed twice over: with a per-wallet data key wrapped by the keyring
-- (wrapped_key, master_version; associated data: the wallet id) and with a key derived from
-- the account's password by argon2id (kdf_salt, kdf_params). Neither the keyring nor the
-- password alone opens sealed_key. Shredding the account removes its wallets with its key row.
--
-- next_nonce is the nonce the wallet's next transaction takes: the nonce manager moves it
-- under a lock, and custodial_sends' unique (wallet_id, nonce) makes a reuse impossible.
CREATE TABLE custodial_wallets (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES account_keys(account_id) ON DELETE CASCADE,
    address TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    sealed_key BYTEA NOT NULL,
    wrapped_key BYTEA NOT NULL,
    master_version BIGINT NOT NULL,
    kdf_salt BYTEA NOT NULL,
    kdf_params TEXT NOT NULL,
    next_nonce BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX custodial_wallets_account ON custodial_wallets (account_id, created_at);

-- Every send a user asked for, whatever became of it. status: pending (broadcast, not mined),
-- unconfirmed (the broadcast's outcome is unknown; the follower sends the same raw bytes
-- again), mined, reverted, or refused (the node or a rule refused it; no nonce taken).
-- raw is the signed transaction: public once broadcast, never a secret.
CREATE TABLE custodial_sends (
    id TEXT PRIMARY KEY,
    wallet_id TEXT NOT NULL REFERENCES custodial_wallets(id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    nonce BIGINT,
    to_address TEXT NOT NULL,
    value_wei TEXT NOT NULL,
    data BYTEA NOT NULL,
    tx_hash TEXT,
    raw BYTEA,
    gas_limit BIGINT,
    max_fee_per_gas TEXT,
    max_priority_fee_per_gas TEXT,
    status TEXT NOT NULL,
    error TEXT,
    block BIGINT,
    gas_used BIGINT,
    effective_gas_price TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (wallet_id, nonce)
);
CREATE INDEX custodial_sends_wallet ON custodial_sends (wallet_id, created_at);
CREATE INDEX custodial_sends_account ON custodial_sends (account_id, created_at);
CREATE INDEX custodial_sends_open ON custodial_sends (status) WHERE status IN ('pending', 'unconfirmed');
