import { readFileSync } from 'node:fs';

/**
 * Every SQL statement the service runs, read once at start-up from `sql/`.
 * Each file opens with a header stating its inputs and what it returns.
 */
const dir = new URL('./sql/', import.meta.url);
const load = (name: string): string => readFileSync(new URL(`${name}.sql`, dir), 'utf8');

export const SQL = {
  ping: load('ping'),
  insertUser: load('insert-user'),
  findUserByUsername: load('find-user-by-username'),
  createSession: load('create-session'),
  findRefreshState: load('find-refresh-state'),
  rotateRefresh: load('rotate-refresh'),
  revokeSession: load('revoke-session'),
  revokeUserSessions: load('revoke-user-sessions'),
  findSessionOwner: load('find-session-owner'),
  listRevocationsSince: load('list-revocations-since'),
  listSigningKeys: load('list-signing-keys'),
  insertSigningKey: load('insert-signing-key'),
  retireSigningKeys: load('retire-signing-keys'),
  countActiveSessions: load('count-active-sessions'),
  findFamily: load('find-family'),
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
  replicationTokens: load('replication-tokens'),
  backfillUsers: load('backfill-users'),
  backfillFamilies: load('backfill-families'),
  backfillRevocations: load('backfill-revocations'),
  upsertReplicaUser: load('upsert-replica-user'),
  lockReplicaSpend: load('lock-replica-spend'),
  upsertReplicaFamily: load('upsert-replica-family'),
  upsertReplicaToken: load('upsert-replica-token'),
  recordReplicatedRevocation: load('record-replicated-revocation'),
  deleteOldReplicatedRevocations: load('delete-old-replicated-revocations'),
  listUserSessions: load('list-user-sessions'),
  findUserById: load('find-user-by-id'),
  updateUser: load('update-user'),
  deleteUser: load('delete-user'),
} as const;

// Each statement of the registry runs as a named prepared statement: PostgreSQL parses
// and plans it once per connection instead of on every call (on the refresh path this
// was most of the database's CPU). Ad-hoc text (migrations, tests) stays unnamed.
const NAMES = new Map<string, string>(Object.entries(SQL).map(([name, text]) => [text, name]));

/** The prepared-statement name of a registry statement; undefined for any other text. */
export function statementName(text: string): string | undefined {
  return NAMES.get(text);
}
