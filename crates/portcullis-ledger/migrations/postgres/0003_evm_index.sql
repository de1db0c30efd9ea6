-- The local index of a token ledger held by an ERC-721 contract (feature `evm`): each
-- token's owner and state as the contract's events say, so that a request reads liveness
-- here and never waits on the chain. Fed by the follower (eth_getLogs from the cursor) and
-- by the receipts of this node's own writes; every row remembers the chain position
-- (block, log index) of the event it reflects, so an event applied twice changes nothing.
-- Unused (empty) with the embedded backend.
CREATE TABLE evm_tokens (
    token_id   TEXT PRIMARY KEY,          -- 0x + 64 hex digits: keccak256 of the token id
    token      TEXT NOT NULL UNIQUE,      -- the ledger's token id
    owner      TEXT NOT NULL,             -- EIP-55 address (the last owner once burned)
    burned     BOOLEAN NOT NULL,
    attributes TEXT NOT NULL,             -- the JSON object it was minted with
    block      BIGINT NOT NULL,
    log_index  BIGINT NOT NULL
);

-- How far the follower has read the contract's events: blocks below next_block are indexed.
CREATE TABLE evm_cursor (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    contract   TEXT NOT NULL,
    next_block BIGINT NOT NULL
);
