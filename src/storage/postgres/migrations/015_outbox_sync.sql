-- 015_outbox_sync: the outbox has two consumers that must not wait for each
-- other. The fan-out to other regions (sent_at) runs in PostgreSQL alone; the
-- cache sync of revocations (synced_at) needs the region's Redis. With one
-- marker, a Redis outage held back replication too (every relay batch rolled
-- back) and the relay kept a transaction open across a Redis call. Now each
-- consumer has its own marker, and a row is deleted once both are done.
-- Rows already relayed were synced in the same transaction.
ALTER TABLE outbox ADD COLUMN synced_at timestamptz;
UPDATE outbox SET synced_at = sent_at WHERE sent_at IS NOT NULL AND kind = 'revoked';
CREATE INDEX outbox_unsynced_idx ON outbox (id) WHERE synced_at IS NULL AND kind = 'revoked';
