import { FIELDS, type Config } from './schema.js';
import { hasScheme, parseServiceUrl } from './service-url.js';

/** A setting that failed validation; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function parse(env: string, raw: string, kind: (typeof FIELDS)[keyof typeof FIELDS]['kind']): unknown {
  switch (kind.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${env} must be a whole number, got "${raw}"`);
      const n = Number(raw);
      if (n < kind.min || n > kind.max) throw new ConfigError(`${env} must be between ${kind.min} and ${kind.max}, got ${n}`);
      return n;
    }
    case 'bool': {
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(`${env} must be true or false, got "${raw}"`);
    }
    case 'enum': {
      if (!(kind.values as readonly string[]).includes(raw)) throw new ConfigError(`${env} must be one of ${kind.values.join(', ')}, got "${raw}"`);
      return raw;
    }
    case 'origins': {
      const origins = raw
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean);
      for (const o of origins) {
        if (!URL.canParse(o) || new URL(o).origin !== o) throw new ConfigError(`${env} must list origins like https://app.example.com, got "${o}"`);
      }
      return Object.freeze(origins);
    }
    case 'url': {
      const url = 'multiHost' in kind && kind.multiHost ? parseServiceUrl(raw) : URL.canParse(raw) ? new URL(raw) : undefined;
      if (!url) throw new ConfigError(`${env} must be a URL`);
      if ('schemes' in kind && kind.schemes && !hasScheme(raw, kind.schemes))
        throw new ConfigError(`${env} must be a URL with scheme ${kind.schemes.join(' or ')} (in lower case)`);
      return raw;
    }
    case 'string': {
      if (raw.length === 0) throw new ConfigError(`${env} must not be empty`);
      if ('pattern' in kind && kind.pattern && !kind.pattern.test(raw)) {
        throw new ConfigError(`${env} is invalid: ${'hint' in kind ? kind.hint : 'bad format'}`);
      }
      return raw;
    }
  }
}

/**
 * Reads every setting from `env`, applies defaults, checks cross-field rules
 * and returns a frozen Config. Throws ConfigError naming the first bad
 * variable, so start-up stops with a message an operator can act on.
 */
export function loadConfig(env: Env, overrides: Partial<Config> = {}): Config {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(FIELDS)) {
    if (key in overrides) {
      out[key] = overrides[key as keyof Config];
      continue;
    }
    const raw = env[field.env];
    if (raw !== undefined && raw !== '') {
      out[key] = parse(field.env, raw.trim(), field.kind);
    } else if ('default' in field) {
      const d = field.default;
      out[key] = typeof d === 'function' ? d(out as Partial<Config>) : d;
    }
  }
  const config = out as unknown as Config;
  if (config.refreshIdleTtl > config.refreshTokenTtl) {
    throw new ConfigError('MERIDIAN_REFRESH_IDLE_TTL must not exceed MERIDIAN_REFRESH_TOKEN_TTL');
  }
  if (config.refreshGraceSeconds >= config.refreshIdleTtl) {
    throw new ConfigError('MERIDIAN_REFRESH_GRACE_SECONDS must be shorter than MERIDIAN_REFRESH_IDLE_TTL');
  }
  if (config.refreshWrites === 'write-behind' && !config.redisUrl) {
    throw new ConfigError("MERIDIAN_REFRESH_WRITES=write-behind needs REDIS_URL: rotations are made in the region's Redis");
  }
  if (config.regionsFile && !config.regionSecret) {
    throw new ConfigError('MERIDIAN_REGION_SECRET is required when MERIDIAN_REGIONS_FILE is set');
  }
  return Object.freeze(config);
}

/** The documentation table of every variable, for `meridian config` and the README. */
export function describeConfig(): string {
  return Object.values(FIELDS)
    .map((f) => {
      const d = 'default' in f ? (typeof f.default === 'function' ? 'derived' : String(f.default)) : '(unset)';
      return `| \`${f.env}\` | ${d} | ${f.doc} |`;
    })
    .join('\n');
}

/** The process environment is read here and nowhere else. */
export function loadConfigFromEnv(overrides: Partial<Config> = {}): Config {
  return loadConfig(process.env, overrides);
}

/** The environment for a child process (the local cluster's): this one's, with `overrides` on top; '' leaves a setting unset. */
export function childEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}
