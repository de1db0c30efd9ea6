-- Wallet sessions (hardware-wallet login): the session key's RFC 7638 thumbprint that every
-- access token of the session is bound to (DPoP `cnf.jkt`), the wallet's EIP-55 address and
-- the id of the session's ReqNFT on the `req` ledger. All three are set together or not at
-- all; a session without them is an ordinary bearer session.
ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT;
ALTER TABLE sessions ADD COLUMN wallet TEXT;
ALTER TABLE sessions ADD COLUMN req_token TEXT;
