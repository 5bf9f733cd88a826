import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { distanceKm, IpPrefixMap, parseGeoHeader } from '../src/regions/geo.js';
import { loadTopologyFile, parseTopology, regionEntry, withRegionDefaults } from '../src/regions/topology.js';

const region = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  location: { lat: 50, lon: 8 },
  url: `http://127.0.0.1:9000/${id}/`,
  databaseUrl: `postgres://postgres@127.0.0.1:5432/meridian_${id}`,
  redisUrl: 'redis://127.0.0.1:6380',
  peers: [],
  ...extra,
});
const doc = (d: unknown): string => JSON.stringify(d);

describe('region topology', () => {
  it('reads regions, defaults the directory to the first and trims the URL', () => {
    const t = parseTopology(doc({ regions: [region('eu', { peers: ['us'] }), region('us')], ipPrefixes: { '10.1.0.0/16': 'us' } }), 'test');
    assert.deepEqual(
      t.regions.map((r) => r.id),
      ['eu', 'us'],
    );
    assert.equal(t.directory, 'eu');
    assert.equal(t.regions[0]!.url, 'http://127.0.0.1:9000/eu');
    assert.deepEqual(t.regions[0]!.peers, ['us']);
    assert.deepEqual(t.ipPrefixes, [{ prefix: '10.1.0.0/16', region: 'us' }]);
    assert.equal(parseTopology(doc({ directory: 'us', regions: [region('eu'), region('us')] }), 'test').directory, 'us');
    assert.ok(Object.isFrozen(t) && Object.isFrozen(t.regions[0]));
  });

  it('refuses a bad file with a message naming the field', () => {
    const cases: [unknown, RegExp][] = [
      ['{', /\(file\) is not valid JSON/],
      [{ regions: [] }, /regions must be a non-empty array/],
      [{ regions: [region('eu')], extra: 1 }, /\(file\)\.extra is not a known field/],
      [{ regions: [region('EU')] }, /regions\[0\]\.id must be lower-case/],
      [{ regions: [region('gateway')] }, /regions\[0\]\.id must not be "gateway"/],
      [{ regions: [region('eu'), region('eu')] }, /regions\[1\]\.id "eu" is listed twice/],
      [{ regions: [region('eu', { location: { lat: 91, lon: 0 } })] }, /regions\[0\]\.location\.lat must be a number from -90 to 90/],
      [{ regions: [region('eu', { location: { lat: 0, lon: '8' } })] }, /regions\[0\]\.location\.lon must be a number/],
      [{ regions: [region('eu', { location: { lat: 0 } })] }, /regions\[0\]\.location\.lon/],
      [{ regions: [region('eu', { url: 'ftp://x' })] }, /regions\[0\]\.url must be a URL with scheme http or https/],
      [{ regions: [region('eu', { url: 'nope' })] }, /regions\[0\]\.url must be a URL/],
      [{ regions: [region('eu', { databaseUrl: 'mysql://x/y' })] }, /regions\[0\]\.databaseUrl must be a URL with scheme postgres or postgresql/],
      [{ regions: [region('eu', { redisUrl: undefined })] }, /regions\[0\]\.redisUrl must be a URL/],
      [
        { regions: [region('eu', { redisUrl: 'memcached://x' })] },
        /regions\[0\]\.redisUrl must be a URL with scheme redis or rediss or redis\+sentinel or redis\+cluster/,
      ],
      [{ regions: [region('eu', { peers: 'us' })] }, /regions\[0\]\.peers must be an array/],
      [{ regions: [region('eu', { peers: ['us'] })] }, /regions\[0\]\.peers\[0\] names unknown region "us"/],
      [{ regions: [region('eu', { peers: ['eu'] })] }, /regions\[0\]\.peers\[0\] must not name the region itself/],
      [{ regions: [region('eu', { peers: ['us', 'us'] }), region('us')] }, /regions\[0\]\.peers\[1\] lists "us" twice/],
      [{ regions: [region('eu', { color: 'blue' })] }, /regions\[0\]\.color is not a known field/],
      [{ directory: 'us', regions: [region('eu')] }, /directory names unknown region "us"/],
      [{ regions: [region('eu')], ipPrefixes: { '10.0.0.0/33': 'eu' } }, /ipPrefixes\["10\.0\.0\.0\/33"\] is not an IP prefix/],
      [{ regions: [region('eu')], ipPrefixes: { '10.0.0.0/8': 'us' } }, /ipPrefixes\["10\.0\.0\.0\/8"\] must name a listed region/],
    ];
    for (const [d, message] of cases) {
      const text = typeof d === 'string' ? d : doc(d);
      assert.throws(
        () => parseTopology(text, 'regions.json'),
        (e: unknown) => e instanceof ConfigError && /^MERIDIAN_REGIONS_FILE \(regions\.json\): /.test(e.message) && message.test(e.message),
        text,
      );
    }
  });

  it('names MERIDIAN_REGION when this region is not listed, and an unreadable file', () => {
    const t = parseTopology(doc({ regions: [region('eu')] }), 'test');
    assert.throws(() => regionEntry(t, 'us'), /MERIDIAN_REGION "us" is not listed in MERIDIAN_REGIONS_FILE \(regions: eu\)/);
    assert.throws(() => loadTopologyFile('/nonexistent/regions.json'), /MERIDIAN_REGIONS_FILE \(\/nonexistent\/regions\.json\) cannot be read: ENOENT/);
  });

  it("needs a region secret with a regions file; takes the region's database and Redis from it unless set", () => {
    assert.throws(() => loadConfig({ MERIDIAN_REGIONS_FILE: 'r.json' }), /MERIDIAN_REGION_SECRET is required when MERIDIAN_REGIONS_FILE is set/);
    assert.throws(() => loadConfig({ MERIDIAN_REGION_SECRET: 'short' }), /MERIDIAN_REGION_SECRET is invalid: 32 to 256/);
    const t = parseTopology(doc({ regions: [region('eu')] }), 'test');
    const config = loadConfig({ MERIDIAN_REGION: 'eu' });
    const applied = withRegionDefaults(config, t);
    assert.equal(applied.databaseUrl, 'postgres://postgres@127.0.0.1:5432/meridian_eu');
    assert.equal(applied.redisUrl, 'redis://127.0.0.1:6380');
    // Each kind of Redis REDIS_URL takes, a region of the topology takes too.
    for (const redisUrl of [
      'rediss://r:6380',
      'redis+sentinel://s1:26379,s2:26379/eu',
      'redis+cluster://n1:7000,n2:7001,n3:7002',
      'unix:///run/redis/redis.sock',
    ]) {
      assert.equal(withRegionDefaults(config, parseTopology(doc({ regions: [region('eu', { redisUrl })] }), 'test')).redisUrl, redisUrl);
    }
    assert.ok(Object.isFrozen(applied));
    assert.equal(withRegionDefaults(loadConfig({ MERIDIAN_REGION: 'eu', DATABASE_URL: 'postgres://x/y' }), t).databaseUrl, 'postgres://x/y');
    assert.equal(withRegionDefaults(config, undefined), config);
  });
});

describe('client location', () => {
  it('measures great-circle distance', () => {
    const dublin = { lat: 53.35, lon: -6.26 };
    const virginia = { lat: 38.95, lon: -77.45 };
    assert.equal(distanceKm(dublin, dublin), 0);
    assert.ok(Math.abs(distanceKm(dublin, virginia) - 5_450) < 100);
    // Across the antimeridian: Fiji to Samoa is near, not half the globe.
    assert.ok(distanceKm({ lat: -17.7, lon: 178 }, { lat: -13.8, lon: -172 }) < 1_200);
  });

  it('reads X-Client-Geo and refuses anything that is not a point on the globe', () => {
    assert.deepEqual(parseGeoHeader('53.35,-6.26'), { lat: 53.35, lon: -6.26 });
    assert.deepEqual(parseGeoHeader(' -33.9 , 151.2 '), { lat: -33.9, lon: 151.2 });
    for (const bad of [undefined, '', '91,0', '0,181', 'a,b', '1,2,3', '1e2,3', ['1,2']]) assert.equal(parseGeoHeader(bad as never), undefined, String(bad));
  });

  it('maps client addresses by the longest matching prefix', () => {
    const map = new IpPrefixMap([
      { prefix: '10.0.0.0/8', region: 'eu' },
      { prefix: '10.1.0.0/16', region: 'us' },
      { prefix: '2001:db8::/32', region: 'ap' },
    ]);
    assert.equal(map.regionFor('10.2.3.4'), 'eu');
    assert.equal(map.regionFor('10.1.3.4'), 'us');
    assert.equal(map.regionFor('::ffff:10.1.3.4'), 'us');
    assert.equal(map.regionFor('2001:db8::1'), 'ap');
    assert.equal(map.regionFor('192.0.2.1'), undefined);
    assert.equal(map.regionFor(undefined), undefined);
  });
});
