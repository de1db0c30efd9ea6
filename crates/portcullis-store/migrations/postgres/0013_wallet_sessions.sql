-- Wallet sessions (hardware-wallet login): the session key's RFC 7638 thumbprint that every
-- access token of the session is bound to (DPoP `cnf.jkt`), the wallet's EIP-55 address and
-- the id of the session's ReqNFT on the `req` ledger. The address and the ReqNFT are set
-- together (a wallet session) or not at all; the thumbprint only when the tokens are
-- DPoP-bound (not for a browser's wallet session, whose tokens stay in its cookies).
ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT;
ALTER TABLE sessions ADD COLUMN wallet TEXT;
ALTER TABLE sessions ADD COLUMN req_token TEXT;
