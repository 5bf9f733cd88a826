import { BlockList, isIP } from 'node:net';

/**
 * Where a client is, for routing to the nearest region: a point on the globe
 * (from the `X-Client-Geo` hint) compared by great-circle distance, or an IP
 * prefix an operator has assigned to a region.
 */

export interface GeoPoint {
  lat: number;
  lon: number;
}

const EARTH_RADIUS_KM = 6371;
const rad = (deg: number): number => (deg * Math.PI) / 180;

/** Great-circle distance in kilometres (haversine). */
export function distanceKm(a: GeoPoint, b: GeoPoint): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function isGeoPoint(lat: unknown, lon: unknown): boolean {
  return typeof lat === 'number' && typeof lon === 'number' && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
}

const GEO_HEADER = /^\s*(-?\d{1,3}(?:\.\d{1,10})?)\s*,\s*(-?\d{1,3}(?:\.\d{1,10})?)\s*$/;

/** `X-Client-Geo: <lat>,<lon>` in decimal degrees; undefined when absent or not a point on the globe. */
export function parseGeoHeader(value: string | string[] | undefined): GeoPoint | undefined {
  if (typeof value !== 'string') return undefined;
  const m = GEO_HEADER.exec(value);
  if (!m) return undefined;
  const lat = Number(m[1]);
  const lon = Number(m[2]);
  return isGeoPoint(lat, lon) ? { lat, lon } : undefined;
}

export interface Cidr {
  address: string;
  bits: number;
  family: 'ipv4' | 'ipv6';
}

/** `203.0.113.0/24` or `2001:db8::/32`; undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const [address, bitsText, extra] = text.split('/');
  if (!address || !bitsText || extra !== undefined || !/^\d{1,3}$/.test(bitsText)) return undefined;
  const version = isIP(address);
  const bits = Number(bitsText);
  if (version === 0 || bits > (version === 4 ? 32 : 128)) return undefined;
  return { address, bits, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Maps a client address to a region by the longest matching configured prefix. */
export class IpPrefixMap {
  private readonly routes: { list: BlockList; bits: number; region: string }[];

  constructor(prefixes: readonly { prefix: string; region: string }[]) {
    this.routes = prefixes
      .map(({ prefix, region }) => {
        const cidr = parseCidr(prefix);
        if (!cidr) throw new Error(`bad IP prefix ${prefix}`);
        const list = new BlockList();
        list.addSubnet(cidr.address, cidr.bits, cidr.family);
        return { list, bits: cidr.bits, region };
      })
      .sort((a, b) => b.bits - a.bits);
  }

  regionFor(address: string | undefined): string | undefined {
    if (!address) return undefined;
    // An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d.
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(plain) === 4 ? 'ipv4' : isIP(plain) === 6 ? 'ipv6' : undefined;
    if (!family) return undefined;
    return this.routes.find((r) => r.list.check(plain, family))?.region;
  }
}
