-- No query reads entries by subject or tokens by owner, and each of these indexes cost a
-- B-tree page write at a random place for every entry appended (token ids and owners are
-- spread over the key space), which was most of what a group commit wrote. A feature that
-- needs either look-up adds its index back with the query.
DROP INDEX entries_subject;
DROP INDEX tokens_owner;
