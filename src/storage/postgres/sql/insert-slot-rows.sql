-- insert-slot-rows: writes one slot's rows, as read-slot-rows returned them, on this shard (after
-- clear-slot-rows). Foreign keys are checked at the end of the statement, so users and their
-- sessions arrive together. Run with meridian.moving = on.
-- Inputs: $1 users, $2 sessions, $3 revocations, $4 deletions, $5 tokens (json arrays of rows).
-- Returns: nothing.
WITH
  u AS (INSERT INTO users SELECT * FROM json_populate_recordset(NULL::users, $1::json)),
  s AS (INSERT INTO sessions SELECT * FROM json_populate_recordset(NULL::sessions, $2::json)),
  r AS (INSERT INTO replicated_revocations SELECT * FROM json_populate_recordset(NULL::replicated_revocations, $3::json)),
  d AS (INSERT INTO deleted_users SELECT * FROM json_populate_recordset(NULL::deleted_users, $4::json))
INSERT INTO refresh_tokens SELECT * FROM json_populate_recordset(NULL::refresh_tokens, $5::json);
