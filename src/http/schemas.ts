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
    token_type: { type: 'string', enum: ['Bearer'] },
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

/** Error responses a route may give, by status. */
export function errors(...statuses: number[]): Record<number, typeof errorBodySchema> {
  return Object.fromEntries(statuses.map((s) => [s, errorBodySchema]));
}
