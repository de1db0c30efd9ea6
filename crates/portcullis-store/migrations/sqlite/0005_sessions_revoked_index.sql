-- The revocation feed reads sessions by the time they were revoked.
CREATE INDEX sessions_revoked_at ON sessions(revoked_at);
