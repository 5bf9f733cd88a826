/**
 * The three regions the replication benchmarks run in one process (each its
 * own database and worker tier; a is the username directory), with their
 * signing keys already known to each other.
 */
import { type RegionSet, startRegions, syncKeys } from '../test/regions-harness.js';

export async function startThreeRegions(): Promise<RegionSet> {
  const regions = [
    { id: 'a', lat: 38.9, lon: -77.0 },
    { id: 'b', lat: 53.3, lon: -6.3 },
    { id: 'c', lat: 1.35, lon: 103.8 },
  ];
  const set = await startRegions(regions, { directory: 'a', workers: true });
  await syncKeys(set).catch(async (err: unknown) => {
    await set.close();
    throw err;
  });
  return set;
}
