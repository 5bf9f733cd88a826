-- install-slot-guard: the slot guard's triggers (migration 023) on this shard's slot-placed tables,
-- made when a slot first moves away from it. Idempotent. Making a trigger waits for the
-- transactions that hold the table, so every write that begins after it is checked.
-- Inputs: none (several statements, run with exec).
-- Returns: nothing.
CREATE OR REPLACE TRIGGER users_slot_guard AFTER INSERT OR UPDATE OR DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION meridian_slot_guard_id();
CREATE OR REPLACE TRIGGER sessions_slot_guard AFTER INSERT OR UPDATE OR DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION meridian_slot_guard_id();
CREATE OR REPLACE TRIGGER replicated_revocations_slot_guard AFTER INSERT OR UPDATE OR DELETE ON replicated_revocations
  FOR EACH ROW EXECUTE FUNCTION meridian_slot_guard_session_id();
CREATE OR REPLACE TRIGGER deleted_users_slot_guard AFTER INSERT OR UPDATE OR DELETE ON deleted_users
  FOR EACH ROW EXECUTE FUNCTION meridian_slot_guard_id();
