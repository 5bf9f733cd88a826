import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * Log redaction is configured here once. Request and response serializers
 * never include bodies, and these paths cover any object that is logged by
 * mistake: a password, token, hash or key is censored wherever it appears.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'password_hash',
  '*.password_hash',
  'passwordHash',
  '*.passwordHash',
  'refresh_token',
  '*.refresh_token',
  'access_token',
  '*.access_token',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'masterKey',
  '*.masterKey',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'meridian' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
