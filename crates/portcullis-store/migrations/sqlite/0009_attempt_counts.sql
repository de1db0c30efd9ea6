-- Attempt counts that concurrent requests cannot outrun (issue 11).
--
-- A login or step-up challenge counts its attempts in a column of its own: an answer first
-- takes one attempt with a single conditional UPDATE (refused once `max_failures` are taken),
-- and only then is it checked; a verified answer gives its attempt back. The challenge's JSON
-- no longer decides how many failures it had, so requests that lose the race to write the
-- JSON are counted all the same. Challenges in flight keep the failures they had.
ALTER TABLE login_challenges ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
UPDATE login_challenges SET attempts = COALESCE(json_extract(state, '$.failures'), 0);

-- DualConfirm checks of a heard word, per pair, side and word window, counted here rather
-- than in a node's connection state: reconnecting a console, changing the pair's language or
-- checking through another node does not start the count again. A row is useless once its
-- window is over; `expires_at` lets the housekeeping job remove it.
CREATE TABLE dualconfirm_checks (
    pair_id TEXT NOT NULL,
    side TEXT NOT NULL,
    window_no INTEGER NOT NULL,
    used INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (pair_id, side, window_no)
);
CREATE INDEX dualconfirm_checks_expiry ON dualconfirm_checks(expires_at);
