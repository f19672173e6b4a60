-- Nothing to do on SQLite: log_nodes is a WITHOUT ROWID table, stored in its primary key's
-- order with the hashes beside the keys (PostgreSQL's 0007 makes its index covering).
SELECT 1;
