import { readFileSync } from 'node:fs';

/**
 * Every SQL statement the service runs, read once at start-up from `sql/`.
 * Each file opens with a header stating its inputs and what it returns.
 */
const dir = new URL('./sql/', import.meta.url);
const load = (name: string): string => readFileSync(new URL(`${name}.sql`, dir), 'utf8');

/**
 * A statement that records its change in the outbox only in a region
 * topology marks that part `-- topology: begin` ... `-- topology: end`. It is
 * two prepared statements: the file without the block, for a region on its
 * own, and the whole file, for a region of a topology. The store picks one
 * when it is made; no statement takes a flag.
 */
const TOPOLOGY_BLOCK = /^-- topology: begin\n[\s\S]*?^-- topology: end\n/gm;
const variants = (name: string): { alone: string; topology: string } => {
  const text = load(name);
  if (!text.match(TOPOLOGY_BLOCK)) throw new Error(`${name}.sql has no topology block`);
  return { alone: text.replace(TOPOLOGY_BLOCK, ''), topology: text };
};
const insertUser = variants('insert-user');
const createSession = variants('create-session');
const rotateSession = variants('rotate-session');
const flushRotations = variants('flush-rotations');
const revokeUserSessions = variants('revoke-user-sessions');
const updateUser = variants('update-user');
const deleteUser = variants('delete-user');

export const SQL = {
  ping: load('ping'),
  ensureSlotMap: load('ensure-slot-map'),
  readSlotMap: load('read-slot-map'),
  readSlotMapVersion: load('read-slot-map-version'),
  assignSlot: load('assign-slot'),
  guardSlot: load('guard-slot'),
  installSlotGuard: load('install-slot-guard'),
  slotGuarded: load('slot-guarded'),
  unguardSlot: load('unguard-slot'),
  transactionsInProgress: load('transactions-in-progress'),
  currentSnapshot: load('current-snapshot'),
  allowSlotWrites: load('allow-slot-writes'),
  readSlotRows: load('read-slot-rows'),
  clearSlotRows: load('clear-slot-rows'),
  insertSlotRows: load('insert-slot-rows'),
  readShardLayout: load('read-shard-layout'),
  recordShardLayout: load('record-shard-layout'),
  recordShardSelf: load('record-shard-self'),
  readShardSelf: load('read-shard-self'),
  insertUser: insertUser.alone,
  insertUserInTopology: insertUser.topology,
  findUserByUsername: load('find-user-by-username'),
  createSession: createSession.alone,
  createSessionInTopology: createSession.topology,
  findSession: load('find-session'),
  findLegacyToken: load('find-legacy-token'),
  rotateSession: rotateSession.alone,
  rotateSessionInTopology: rotateSession.topology,
  flushRotations: flushRotations.alone,
  flushRotationsInTopology: flushRotations.topology,
  guardedRotations: load('guarded-rotations'),
  revokeSession: load('revoke-session'),
  revokeUserSessions: revokeUserSessions.alone,
  revokeUserSessionsInTopology: revokeUserSessions.topology,
  endSessionsBefore: load('end-sessions-before'),
  listRevocationsSince: load('list-revocations-since'),
  listSigningKeys: load('list-signing-keys'),
  insertSigningKey: load('insert-signing-key'),
  retireSigningKeys: load('retire-signing-keys'),
  countActiveSessions: load('count-active-sessions'),
  claimOutbox: load('claim-outbox'),
  markOutboxSent: load('mark-outbox-sent'),
  listUnsyncedRevocations: load('list-unsynced-revocations'),
  markOutboxSynced: load('mark-outbox-synced'),
  countOutboxBacklog: load('count-outbox-backlog'),
  deleteExpiredTokens: load('delete-expired-tokens'),
  deleteExpiredSessions: load('delete-expired-sessions'),
  deleteSentOutbox: load('delete-sent-outbox'),
  upsertForeignSigningKey: load('upsert-foreign-signing-key'),
  claimUsername: load('claim-username'),
  findUsernameClaim: load('find-username-claim'),
  enqueueReplication: load('enqueue-replication'),
  claimReplication: load('claim-replication'),
  lockReplicationTarget: load('lock-replication-target'),
  deleteReplication: load('delete-replication'),
  countReplicationBacklog: load('count-replication-backlog'),
  replicationUser: load('replication-user'),
  replicationFamily: load('replication-family'),
  backfillUsers: load('backfill-users'),
  backfillFamilies: load('backfill-families'),
  backfillRevocations: load('backfill-revocations'),
  upsertReplicaUser: load('upsert-replica-user'),
  updateReplicaUser: load('update-replica-user'),
  lockReplicaSpend: load('lock-replica-spend'),
  upsertReplicaFamily: load('upsert-replica-family'),
  recordReplicatedRevocation: load('record-replicated-revocation'),
  deleteOldReplicatedRevocations: load('delete-old-replicated-revocations'),
  listUserSessions: load('list-user-sessions'),
  findUserById: load('find-user-by-id'),
  updateUser: updateUser.alone,
  updateUserInTopology: updateUser.topology,
  deleteUser: deleteUser.alone,
  deleteUserInTopology: deleteUser.topology,
  deleteReplicaUser: load('delete-replica-user'),
  releaseUsernameClaim: load('release-username-claim'),
} as const;

// Each statement of the registry runs as a named prepared statement: PostgreSQL parses
// and plans it once per connection instead of on every call (on the refresh path this
// was most of the database's CPU). Ad-hoc text (migrations, tests) stays unnamed.
const NAMES = new Map<string, string>(Object.entries(SQL).map(([name, text]) => [text, name]));

/** The prepared-statement name of a registry statement; undefined for any other text. */
export function statementName(text: string): string | undefined {
  return NAMES.get(text);
}
