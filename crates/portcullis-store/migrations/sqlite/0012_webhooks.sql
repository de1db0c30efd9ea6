-- Webhooks (Standard Webhooks): subscriptions, the account events to deliver and one delivery
-- per (subscription, event).
--
-- A subscription's secret is sealed with the keyring (associated data: its id); after a
-- rotation the previous one stays, sealed, until previous_until, and deliveries are signed
-- with both. `events` is a bit set of event types (core::webhook::EventType::bit).
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    description TEXT,
    events INTEGER NOT NULL,
    secret_sealed BLOB NOT NULL,
    previous_secret_sealed BLOB,
    previous_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- An account event, written in the transaction of the change it reports. Its payload (the JSON
-- body, with the account's e-mail address) is sealed with the keyring and erased once no
-- delivery of it is pending. `seq` orders the events of an account.
CREATE TABLE webhook_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at INTEGER NOT NULL
);

-- state: pending, delivered or failed (given up). A worker leases a pending row with
-- claimed_until; a row is due only when no earlier pending row of the same subscription and
-- account exists (in order per account).
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_seq INTEGER NOT NULL REFERENCES webhook_events(seq),
    account_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until INTEGER,
    last_status INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (webhook_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(webhook_id, account_id, state, event_seq);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_seq, state);
