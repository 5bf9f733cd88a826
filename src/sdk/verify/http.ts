/** How long the SDK waits for one JSON request to the issuer. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** GETs `url` and parses a JSON body; throws on a network error, a timeout or a non-2xx status. */
export async function getJson(fetchImpl: typeof fetch, url: string): Promise<unknown> {
  const res = await fetchImpl(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`GET ${url}: HTTP ${res.status}`);
  }
  return res.json();
}
