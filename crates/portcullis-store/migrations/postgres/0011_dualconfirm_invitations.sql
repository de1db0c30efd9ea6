-- DualConfirm invitations, kept apart from pairs so that an advisor learns nothing about the
-- address they invite until the client accepts: every invitation is stored alike, whether the
-- address belongs to a client, to another account or to nobody. The invited address is kept as
-- its blind index (how the invited client finds it) and sealed with the keyring (associated
-- data: the invitation id), for the advisor's own list. Rows that are no longer pending stay an
-- hour, for the per-advisor rate, then go.
CREATE TABLE dualconfirm_invitations (
    id TEXT PRIMARY KEY,
    advisor_id TEXT NOT NULL REFERENCES account_keys(account_id) ON DELETE CASCADE,
    email_index BYTEA NOT NULL,
    email_sealed BYTEA NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dualconfirm_invitations_advisor ON dualconfirm_invitations(advisor_id, created_at);
CREATE INDEX dualconfirm_invitations_email ON dualconfirm_invitations(email_index);

-- A name an administrator set for each side of a pair (sealed with the keyring; associated
-- data: the pair id and the side): the identity the other side is shown, instead of a display
-- name the account chose itself. NULL: the account's e-mail address is shown.
ALTER TABLE dualconfirm_pairs ADD COLUMN advisor_name_sealed BYTEA;
ALTER TABLE dualconfirm_pairs ADD COLUMN client_name_sealed BYTEA;
