-- Hearth's core store (app/store/pgstore): named buckets of opaque values,
-- named indexes of ordered byte keys, and counters.
--
-- Names, ids and keys are compared byte by byte, the order bbolt keeps:
-- text columns are COLLATE "C" (memcmp on UTF-8) and keys are bytea. The
-- primary keys' btrees serve every read (Get, Each, Count, Lookup, and Scan
-- in either direction), so there are no other indexes to keep up on write.
-- Nothing here ever holds PHI in clear: values are age ciphertext, and the
-- callers build names, ids and keys from non-PHI parts.

CREATE TABLE hearth_records (
    bucket text COLLATE "C" NOT NULL,
    id     text COLLATE "C" NOT NULL,
    value  bytea NOT NULL,
    PRIMARY KEY (bucket, id)
);
-- Values are ciphertext: trying to compress them only burns CPU.
ALTER TABLE hearth_records ALTER COLUMN value SET STORAGE EXTERNAL;

CREATE TABLE hearth_index (
    name text COLLATE "C" NOT NULL,
    key  bytea NOT NULL,
    id   text COLLATE "C" NOT NULL,
    PRIMARY KEY (name, key)
);

CREATE TABLE hearth_seq (
    name  text COLLATE "C" PRIMARY KEY,
    value bigint NOT NULL CHECK (value >= 0)
);
