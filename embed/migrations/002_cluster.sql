-- Shared throttling counters for a clinic group (pgstore's Hit, Hits and
-- ResetHits): the web layer's rate limits count here, so an attacker cannot
-- multiply their budget by spreading requests over several Hearth nodes.
--
-- UNLOGGED on purpose: the table skips the write-ahead log, so each Hit costs
-- no WAL flush, and it is not copied to standbys. The price is that a crash
-- of the database server empties it, which forgets every counter: acceptable,
-- because a throttle that restarts from zero after a rare server crash only
-- grants a fresh window; nothing here is clinical data or needs a backup.
--
-- key is already a hash made by the caller (never PHI) and is compared byte
-- by byte. started is the database server's clock, never a node's, so all
-- nodes agree on when a window ends. expires (started plus the window Hit
-- was given) only tells the opportunistic clean-up in Hit which rows are
-- stale, whatever their window; it has no index because that clean-up runs
-- rarely and the table stays small, while every Hit would pay for one.

CREATE UNLOGGED TABLE hearth_throttle (
    key     text COLLATE "C" PRIMARY KEY,
    started timestamptz NOT NULL,
    expires timestamptz NOT NULL,
    hits    integer NOT NULL CHECK (hits > 0)
);
