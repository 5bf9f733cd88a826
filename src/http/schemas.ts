import { errorBodySchema } from './plugins/errors.js';

/**
 * Route schemas. Bodies are closed (`additionalProperties: false`) and typed;
 * the app's Ajv neither coerces types nor strips unknown fields, so a
 * mistyped or extra field is a 400, as API.md requires. Response schemas
 * double as the OpenAPI description.
 */

export const credentialsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: {
    username: { type: 'string', maxLength: 256 },
    password: { type: 'string', maxLength: 8192 },
  },
} as const;

export const refreshBody = {
  type: 'object',
  additionalProperties: false,
  required: ['refresh_token'],
  properties: { refresh_token: { type: 'string', maxLength: 1024 } },
} as const;

export const logoutBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    refresh_token: { type: 'string', maxLength: 1024 },
    all_sessions: { type: 'boolean' },
  },
} as const;

export const tokenResponse = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in', 'refresh_token', 'refresh_expires_in'],
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string', enum: ['Bearer', 'DPoP'] },
    expires_in: { type: 'integer' },
    refresh_token: { type: 'string' },
    refresh_expires_in: { type: 'integer' },
  },
} as const;

export const userResponse = {
  type: 'object',
  required: ['id', 'username', 'home_region', 'created_at'],
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    home_region: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const;

export const meResponse = {
  type: 'object',
  required: ['id', 'username', 'session_id', 'region'],
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    session_id: { type: 'string' },
    region: { type: 'string' },
  },
} as const;

const isoTime = { type: 'string', format: 'date-time' } as const;

export const passwordChangeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['current_password', 'new_password'],
  properties: {
    current_password: credentialsBody.properties.password,
    new_password: credentialsBody.properties.password,
  },
} as const;

/** No query parameters, and (for a body) no fields: what a request that names everything in its path takes. */
export const nothing = { type: ['object', 'null'], additionalProperties: false, properties: {} } as const;

/** A session or user id in the path; anything else of this shape is simply not found. */
export const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export const sessionsResponse = {
  type: 'object',
  required: ['sessions'],
  properties: {
    sessions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'created_at', 'last_used_at', 'region', 'user_agent', 'ip', 'current'],
        properties: {
          id: { type: 'string' },
          created_at: isoTime,
          last_used_at: isoTime,
          region: { type: 'string' },
          user_agent: { type: ['string', 'null'] },
          ip: { type: ['string', 'null'] },
          current: { type: 'boolean' },
        },
      },
    },
  },
} as const;

/** `GET /admin/v1/users?username=…` or `?id=…` (exactly one). */
export const userLookupQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { id: idParams.properties.id, username: credentialsBody.properties.username },
} as const;

export const adminUserResponse = {
  type: 'object',
  required: ['id', 'username', 'home_region', 'disabled', 'created_at', 'password_changed_at'],
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    home_region: { type: 'string' },
    disabled: { type: 'boolean' },
    created_at: isoTime,
    password_changed_at: isoTime,
  },
} as const;

export const endedResponse = {
  type: 'object',
  required: ['ended'],
  properties: { ended: { type: 'integer', description: 'how many sessions ended' } },
} as const;

/** Error responses a route may give, by status. */
export function errors(...statuses: number[]): Record<number, typeof errorBodySchema> {
  return Object.fromEntries(statuses.map((s) => [s, errorBodySchema]));
}

/** Bodies of the /oauth endpoints, as JSON or as a form (RFC 6749): both parse to these objects. */
export const OAUTH_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'application/json'];

// RFC 6749 §3.2: unrecognized parameters are ignored, so these bodies stay open.
const clientId = { type: 'string', maxLength: 256 } as const;

export const tokenRequestBody = {
  type: 'object',
  required: ['grant_type'],
  properties: {
    grant_type: { type: 'string', maxLength: 256 },
    username: credentialsBody.properties.username,
    password: credentialsBody.properties.password,
    refresh_token: refreshBody.properties.refresh_token,
    scope: { type: 'string', maxLength: 1024 },
    client_id: clientId,
  },
} as const;

export const tokenLookupBody = {
  type: 'object',
  required: ['token'],
  properties: {
    // No length cap but the body limit: a token too long to be ours is inactive (RFC 7662) or
    // ignored (RFC 7009), and the verifier refuses it before parsing, so a 400 would say more.
    token: { type: 'string' },
    token_type_hint: { type: 'string', maxLength: 64 },
    client_id: clientId,
  },
} as const;

/** RFC 7662 §2.2; an inactive token gets `active` alone. */
export const introspectionResponse = {
  type: 'object',
  required: ['active'],
  properties: {
    active: { type: 'boolean' },
    token_type: { type: 'string', enum: ['Bearer', 'DPoP', 'refresh_token'] },
    client_id: { type: 'string' },
    username: { type: 'string' },
    sub: { type: 'string' },
    iss: { type: 'string' },
    aud: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    exp: { type: 'integer' },
    iat: { type: 'integer' },
    nbf: { type: 'integer' },
    jti: { type: 'string' },
    sid: { type: 'string' },
    region: { type: 'string' },
    cnf: { type: 'object', properties: { jkt: { type: 'string' } } },
  },
} as const;

/** RFC 8414 §2. */
export const serverMetadataResponse = {
  type: 'object',
  required: ['issuer', 'token_endpoint', 'jwks_uri', 'grant_types_supported', 'response_types_supported'],
  properties: {
    issuer: { type: 'string' },
    token_endpoint: { type: 'string' },
    revocation_endpoint: { type: 'string' },
    introspection_endpoint: { type: 'string' },
    jwks_uri: { type: 'string' },
    grant_types_supported: { type: 'array', items: { type: 'string' } },
    response_types_supported: { type: 'array', items: { type: 'string' } },
    token_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
    revocation_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
    service_documentation: { type: 'string' },
    dpop_signing_alg_values_supported: { type: 'array', items: { type: 'string' } },
  },
} as const;

/** `?since=<epoch ms>`: strings, because the app's Ajv does not coerce. */
export const sinceQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { since: { type: 'string', pattern: '^[0-9]{1,15}$' } },
} as const;

export const revocationPage = {
  type: 'object',
  required: ['revocations', 'next_since'],
  properties: {
    revocations: {
      type: 'array',
      items: {
        type: 'object',
        required: ['sid', 'revoked_at'],
        properties: { sid: { type: 'string' }, revoked_at: { type: 'integer', description: 'epoch milliseconds' } },
      },
    },
    next_since: { type: 'integer', description: 'pass back as `since` on the next call' },
  },
} as const;
