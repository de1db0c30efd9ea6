-- Credentials that must not outlive their account reference the account's key row with
-- ON DELETE CASCADE. That row exists from the account's creation until the account is shredded,
-- so shredding (which deletes the key) removes the account's factors, recovery codes, one-time
-- codes and DualConfirm pairs with it; the tombstone, the revoked sessions, the spent mail
-- tokens and the audit log stay. A shredded account can take no new credentials either.
--
-- Rows of accounts shredded before this migration are removed first (shredding deleted them
-- already), so the new constraints hold.

DELETE FROM factors WHERE account_id NOT IN (SELECT account_id FROM account_keys);
ALTER TABLE factors
    DROP CONSTRAINT factors_account_id_fkey,
    ADD CONSTRAINT factors_account_id_fkey FOREIGN KEY (account_id)
        REFERENCES account_keys(account_id) ON DELETE CASCADE;

DELETE FROM recovery_codes WHERE account_id NOT IN (SELECT account_id FROM account_keys);
ALTER TABLE recovery_codes
    DROP CONSTRAINT recovery_codes_account_id_fkey,
    ADD CONSTRAINT recovery_codes_account_id_fkey FOREIGN KEY (account_id)
        REFERENCES account_keys(account_id) ON DELETE CASCADE;

DELETE FROM otp_codes WHERE account_id NOT IN (SELECT account_id FROM account_keys);
ALTER TABLE otp_codes
    DROP CONSTRAINT otp_codes_account_id_fkey,
    ADD CONSTRAINT otp_codes_account_id_fkey FOREIGN KEY (account_id)
        REFERENCES account_keys(account_id) ON DELETE CASCADE;

DELETE FROM dualconfirm_pairs
    WHERE advisor_id NOT IN (SELECT account_id FROM account_keys)
       OR client_id NOT IN (SELECT account_id FROM account_keys);
ALTER TABLE dualconfirm_pairs
    DROP CONSTRAINT dualconfirm_pairs_advisor_id_fkey,
    ADD CONSTRAINT dualconfirm_pairs_advisor_id_fkey FOREIGN KEY (advisor_id)
        REFERENCES account_keys(account_id) ON DELETE CASCADE,
    DROP CONSTRAINT dualconfirm_pairs_client_id_fkey,
    ADD CONSTRAINT dualconfirm_pairs_client_id_fkey FOREIGN KEY (client_id)
        REFERENCES account_keys(account_id) ON DELETE CASCADE;
