-- The hashes inside the primary key of log_nodes, so that a hash tile or a proof is an
-- index-only scan over contiguous index pages. The heap keeps rows in append order, a
-- level's nodes interleaved with the others', so without this a level-1 tile read 256 heap
-- pages (BENCHMARKS.md, "Log at 10,000,000 entries"). About 90 bytes per entry more.
ALTER TABLE log_nodes
    DROP CONSTRAINT log_nodes_pkey,
    ADD CONSTRAINT log_nodes_pkey PRIMARY KEY (level, idx) INCLUDE (hash);
