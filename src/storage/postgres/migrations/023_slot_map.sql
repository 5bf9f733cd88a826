-- 023_slot_map: slots that can move between shards while the region serves
-- (docs/scaling.md, "Adding a shard").
--
-- meridian_slot(id): the slot an id carries (util/slots.ts: the two base-32
-- digits after the ten of time), or NULL for anything else. Indexed on the
-- slot-placed tables so the mover reads one slot without a scan.
--
-- slot_map: on the main shard, which shard holds each slot; the version
-- moves on every change, and every process polls it. Empty until a sharded
-- region's first start writes the even split. Unused on the other shards.
--
-- slot_guard: on each shard, the slots it must not write: 'frozen' while a
-- slot is copied away, 'moved' once it has gone. A trigger on every
-- slot-placed table raises SQLSTATE MR001 for a write to such a slot; it
-- runs AFTER the row is written, so a writer that found the slot open
-- already holds its transaction id, and the mover's wait for the
-- transactions in progress at the freeze covers it. The mover's own
-- statements pass with `meridian.moving = on`. The triggers are not made
-- here: a shard gets them (install-slot-guard.sql) when a slot first moves
-- away from it, so a region that never moves a slot never pays for them
-- (about 14 µs of PostgreSQL CPU per written row).
CREATE FUNCTION meridian_slot(id text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN id ~ '^[a-z][a-z0-9-]{0,31}_[0-9a-z]{26}$' THEN
    (strpos('0123456789abcdefghjkmnpqrstvwxyz', substr(split_part(id, '_', 2), 11, 1)) - 1) * 32
    + strpos('0123456789abcdefghjkmnpqrstvwxyz', substr(split_part(id, '_', 2), 12, 1)) - 1
  END
$$;

CREATE INDEX users_slot_idx ON users (meridian_slot(id));
CREATE INDEX sessions_slot_idx ON sessions (meridian_slot(id));
CREATE INDEX replicated_revocations_slot_idx ON replicated_revocations (meridian_slot(session_id));
CREATE INDEX deleted_users_slot_idx ON deleted_users (meridian_slot(id));

CREATE TABLE slot_map (
  slot  integer PRIMARY KEY,
  shard text NOT NULL
);
CREATE TABLE slot_map_version (
  one     boolean PRIMARY KEY DEFAULT true CHECK (one),
  version bigint NOT NULL
);
INSERT INTO slot_map_version (version) VALUES (0);

CREATE TABLE slot_guard (
  slot  integer PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('frozen', 'moved'))
);

CREATE FUNCTION meridian_check_slot(row_id text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  state_of text;
BEGIN
  IF current_setting('meridian.moving', true) = 'on' THEN RETURN; END IF;
  SELECT state INTO state_of FROM slot_guard WHERE slot = meridian_slot(row_id);
  IF state_of IS NOT NULL THEN
    RAISE EXCEPTION 'slot % is %', meridian_slot(row_id), state_of USING ERRCODE = 'MR001';
  END IF;
END
$$;

-- Two trigger functions rather than one taking the column name: reading NEW by name costs a jsonb copy of the row.
CREATE FUNCTION meridian_slot_guard_id() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM meridian_check_slot(CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
  RETURN NULL;
END
$$;

CREATE FUNCTION meridian_slot_guard_session_id() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM meridian_check_slot(CASE WHEN TG_OP = 'DELETE' THEN OLD.session_id ELSE NEW.session_id END);
  RETURN NULL;
END
$$;

-- shard_self: which shard of its region this database is, recorded on its
-- first start, so that two shard URLs swapped in the configuration, or one
-- pointed at another database, stop the server instead of routing rows to
-- databases that do not hold them.
CREATE TABLE shard_self (
  one  boolean PRIMARY KEY DEFAULT true CHECK (one),
  name text NOT NULL
);
