import { dpopJkt } from './internal-dpop.js';

/**
 * The body of `POST /internal/v1/replication`: a batch of events from one
 * region (src/storage/replication-records.ts). Closed at every level: an
 * unknown field is refused, so a sender and its receivers agree on the
 * release; optional fields are those older senders leave out.
 */

export const regionId = { type: 'string', pattern: '^[a-z][a-z0-9-]{0,31}$' } as const;
const ms = { type: 'number', minimum: 0 } as const;
const msOrNull = { type: ['number', 'null'], minimum: 0 } as const;
const id = { type: 'string', minLength: 1, maxLength: 128 } as const;
/** An object with exactly these fields, all required (nullable ones say so in their type). */
const object = (props: Record<string, object>) => ({ type: 'object', additionalProperties: false, required: Object.keys(props), properties: props }) as const;
const replicatedUser = object({
  id,
  username: { type: 'string', maxLength: 256 },
  usernameNormalized: { type: 'string', maxLength: 256 },
  passwordHash: { type: 'string', maxLength: 1024 },
  homeRegion: regionId,
  disabled: { type: 'boolean' },
  createdAt: ms,
  updatedAt: ms,
  passwordChangedAt: ms,
});
const familyFields = object({
  id,
  userId: id,
  region: regionId,
  generation: { type: 'integer', minimum: 0 },
  createdAt: ms,
  expiresAt: ms,
  lastUsedAt: ms,
  revokedAt: msOrNull,
  revokedReason: { type: ['string', 'null'], maxLength: 32 },
});
// The DPoP binding is optional on the wire: a region of an older release sends none.
const replicatedFamily = {
  ...familyFields,
  properties: { ...familyFields.properties, jkt: { ...dpopJkt, type: ['string', 'null'] }, previousRotatedAt: msOrNull },
} as const;
const replicatedToken = object({
  hash: { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' },
  sessionId: id,
  userId: id,
  region: regionId,
  generation: { type: 'integer', minimum: 0 },
  parentHash: { type: ['string', 'null'], maxLength: 64 },
  createdAt: ms,
  expiresAt: ms,
  consumedAt: msOrNull,
});
export const replicationBody = {
  type: 'object',
  additionalProperties: false,
  required: ['origin', 'events'],
  properties: {
    origin: regionId,
    events: {
      type: 'array',
      maxItems: 500,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'kind', 'at', 'tokens'],
        properties: {
          id,
          kind: { enum: ['user_created', 'user_updated', 'user_deleted', 'created', 'rotated', 'revoked', 'sessions_ended'] },
          at: ms,
          user: replicatedUser,
          family: replicatedFamily,
          tokens: { type: 'array', maxItems: 4, items: replicatedToken },
          revocation: object({ sessionId: id, userId: id, revokedAt: ms, reason: { type: 'string', maxLength: 32 } }),
          deletion: object({ userId: id, deletedAt: ms }),
          sessionsEnded: object({ userId: id, endedAt: ms, kept: { type: ['string', 'null'], maxLength: 128 } }),
        },
      },
    },
  },
} as const;
