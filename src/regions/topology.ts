import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load.js';
import { type Config, FIELDS } from '../config/schema.js';
import { hasScheme, POSTGRES_SCHEMES, parseServiceUrl, REDIS_SCHEMES } from '../config/service-url.js';
import { type GeoPoint, isGeoPoint, parseCidr } from './geo.js';

/**
 * The region topology: which regions exist, where they are and how to reach
 * them. It is read from the JSON file named by MERIDIAN_REGIONS_FILE and
 * validated once at boot; every error names the field. No file means one
 * region on its own, exactly the single-region behaviour. Adding a region is
 * adding an entry to `regions`.
 *
 * ```json
 * { "directory": "eu-west",
 *   "regions": [{ "id": "eu-west", "location": { "lat": 53.3, "lon": -6.3 },
 *                 "url": "https://eu.auth.example", "databaseUrl": "postgres://…",
 *                 "redisUrl": "redis://…", "peers": ["us-east"] }, …],
 *   "ipPrefixes": { "203.0.113.0/24": "eu-west" } }
 * ```
 */

export interface RegionInfo {
  readonly id: string;
  readonly location: Readonly<GeoPoint>;
  /** Public base URL, without a trailing slash. */
  readonly url: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Nearby regions: the replication peers. */
  readonly peers: readonly string[];
}

export interface Topology {
  readonly regions: readonly RegionInfo[];
  /** The region that keeps the username claims (default: the first listed). */
  readonly directory: string;
  /** Gateway routing for clients that give no location: CIDR prefix -> region. */
  readonly ipPrefixes: readonly { readonly prefix: string; readonly region: string }[];
}

/** Region ids follow MERIDIAN_REGION's rule; "gateway" names the gateway in X-Meridian-Region. */
const REGION_ID = FIELDS.region.kind.pattern;
const RESERVED_IDS = new Set(['gateway']);

type Json = Record<string, unknown>;

class Checker {
  constructor(private readonly source: string) {}

  fail(path: string, problem: string): never {
    throw new ConfigError(`MERIDIAN_REGIONS_FILE (${this.source}): ${path} ${problem}`);
  }

  /** An object; with `known`, only those fields. */
  object(v: unknown, path: string, known?: readonly string[]): Json {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'must be an object');
    const extra = known && Object.keys(v).find((k) => !known.includes(k));
    if (extra !== undefined) this.fail(`${path}.${extra}`, `is not a known field (known: ${known?.join(', ')})`);
    return v as Json;
  }

  /** A URL; a database's or Redis's may list several hosts (see config/service-url.ts). */
  url(v: unknown, path: string, schemes: readonly string[]): string {
    const parsed = typeof v === 'string' ? parseServiceUrl(v) : undefined;
    if (!parsed) this.fail(path, 'must be a URL');
    if (!hasScheme(v as string, schemes)) this.fail(path, `must be a URL with scheme ${schemes.join(' or ')} (in lower case)`);
    return v as string;
  }

  regionId(v: unknown, path: string): string {
    if (typeof v !== 'string' || !REGION_ID.test(v)) this.fail(path, 'must be lower-case letters, digits and -, at most 32, starting with a letter');
    if (RESERVED_IDS.has(v)) this.fail(path, `must not be "${v}" (reserved)`);
    return v;
  }
}

function parseRegion(c: Checker, raw: unknown, path: string): RegionInfo {
  const r = c.object(raw, path, ['id', 'location', 'url', 'databaseUrl', 'redisUrl', 'peers']);
  const id = c.regionId(r.id, `${path}.id`);
  const loc = c.object(r.location, `${path}.location`, ['lat', 'lon']);
  if (!isGeoPoint(loc.lat, 0)) c.fail(`${path}.location.lat`, 'must be a number from -90 to 90');
  if (!isGeoPoint(0, loc.lon)) c.fail(`${path}.location.lon`, 'must be a number from -180 to 180');
  const url = c.url(r.url, `${path}.url`, ['http', 'https']).replace(/\/+$/, '');
  const peers = r.peers ?? [];
  if (!Array.isArray(peers)) c.fail(`${path}.peers`, 'must be an array of region ids');
  return {
    id,
    location: Object.freeze({ lat: loc.lat as number, lon: loc.lon as number }),
    url,
    databaseUrl: c.url(r.databaseUrl, `${path}.databaseUrl`, POSTGRES_SCHEMES),
    redisUrl: c.url(r.redisUrl, `${path}.redisUrl`, REDIS_SCHEMES),
    peers: Object.freeze(peers.map((p, i) => c.regionId(p, `${path}.peers[${i}]`))),
  };
}

/** Parses and validates a topology document; `source` names it in errors. */
export function parseTopology(text: string, source: string): Topology {
  const c: Checker = new Checker(source);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    c.fail('(file)', `is not valid JSON: ${(err as Error).message}`);
  }
  const top = c.object(doc, '(file)', ['directory', 'regions', 'ipPrefixes']);
  if (!Array.isArray(top.regions) || top.regions.length === 0) c.fail('regions', 'must be a non-empty array');
  const regions = top.regions.map((r, i) => parseRegion(c, r, `regions[${i}]`));
  const ids = new Set<string>();
  regions.forEach((r, i) => {
    if (ids.has(r.id)) c.fail(`regions[${i}].id`, `"${r.id}" is listed twice`);
    ids.add(r.id);
  });
  for (const [i, r] of regions.entries()) {
    for (const [j, p] of r.peers.entries()) {
      if (p === r.id) c.fail(`regions[${i}].peers[${j}]`, 'must not name the region itself');
      if (!ids.has(p)) c.fail(`regions[${i}].peers[${j}]`, `names unknown region "${p}"`);
      if (r.peers.indexOf(p) !== j) c.fail(`regions[${i}].peers[${j}]`, `lists "${p}" twice`);
    }
  }
  const directory = top.directory === undefined ? (regions[0] as RegionInfo).id : c.regionId(top.directory, 'directory');
  if (!ids.has(directory)) c.fail('directory', `names unknown region "${directory}"`);
  const prefixes = top.ipPrefixes === undefined ? {} : c.object(top.ipPrefixes, 'ipPrefixes');
  const ipPrefixes = Object.entries(prefixes).map(([prefix, region]) => {
    if (!parseCidr(prefix)) c.fail(`ipPrefixes["${prefix}"]`, 'is not an IP prefix such as 203.0.113.0/24');
    if (typeof region !== 'string' || !ids.has(region)) c.fail(`ipPrefixes["${prefix}"]`, 'must name a listed region');
    return Object.freeze({ prefix, region });
  });
  return Object.freeze({ regions: Object.freeze(regions.map((r) => Object.freeze(r))), directory, ipPrefixes: Object.freeze(ipPrefixes) });
}

export function loadTopologyFile(path: string): Topology {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`MERIDIAN_REGIONS_FILE (${path}) cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseTopology(text, path);
}

/** The entry for `id`; a ConfigError naming MERIDIAN_REGION when the topology does not list it. */
export function regionEntry(topology: Topology, id: string): RegionInfo {
  const found = topology.regions.find((r) => r.id === id);
  if (!found) {
    throw new ConfigError(`MERIDIAN_REGION "${id}" is not listed in MERIDIAN_REGIONS_FILE (regions: ${topology.regions.map((r) => r.id).join(', ')})`);
  }
  return found;
}

/**
 * The config a region's processes run with: the topology's database and
 * Redis URLs for this region, unless DATABASE_URL or REDIS_URL say otherwise
 * (a local connection pooler, say).
 */
export function withRegionDefaults(config: Config, topology: Topology | undefined): Config {
  if (!topology) return config;
  const self = regionEntry(topology, config.region);
  return Object.freeze({ ...config, databaseUrl: config.databaseUrl ?? self.databaseUrl, redisUrl: config.redisUrl ?? self.redisUrl });
}
