-- Per-recipient cooldown of outgoing messages: how many messages of one kind (a verification
-- link, a password reset, a code…) went to one recipient in its current window, shared by
-- every node. The recipient is a keyed hash (the keyring's blind index in its own domain),
-- never the address or number itself; rows whose window ended are purged.
CREATE TABLE send_cooldown (
    recipient BLOB NOT NULL,
    kind TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    PRIMARY KEY (recipient, kind)
);
CREATE INDEX send_cooldown_window ON send_cooldown(window_start);
