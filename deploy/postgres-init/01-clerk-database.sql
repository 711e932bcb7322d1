-- Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d).
-- Temporal's own databases (temporal, temporal_visibility) are created by the temporal-schema
-- job with temporal-sql-tool; this adds the application's database next to them.
CREATE DATABASE clerk;
