/** The OpenAPI document is generated from the routes and stays complete; the reference page works offline. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, json, type TestApp } from './helpers.js';

/** Routes (path -> methods) from Fastify's route tree, nested segments joined. */
function registeredRoutes(tree: string): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^(.*?)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = (m[1] as string).length / 4;
    stack.length = depth;
    const path = `${stack.at(-1) ?? ''}${m[2]}`;
    stack.push(path);
    // OpenAPI writes path parameters as {name}, Fastify as :name.
    if (m[3])
      routes.set(
        path.replace(/:(\w+)/g, '{$1}'),
        m[3].split(', ').filter((method) => method !== 'HEAD'),
      );
  }
  return routes;
}

describe('OpenAPI', () => {
  let t: TestApp;
  before(async () => {
    // With the admin token, so that the admin-only routes are registered and checked too.
    t = await createTestApp({ backend: 'pglite', env: { MERIDIAN_ADMIN_TOKEN: 'admin-secret-0123456789abcdef' } });
  });
  after(() => t.close());

  it('serves an OpenAPI 3.1 document at /openapi.json', async () => {
    const res = await t.app.inject({ url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc = json(res);
    assert.match(String(doc.openapi), /^3\.1\./);
    const token = (doc.paths as Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>)['/oauth/token'];
    assert.deepEqual(Object.keys(token?.post?.requestBody?.content ?? {}).sort(), ['application/json', 'application/x-www-form-urlencoded']);
  });

  it('lists every registered route except the reference page and its assets', async () => {
    const doc = json<{ paths: Record<string, Record<string, unknown>> }>(await t.app.inject({ url: '/openapi.json' }));
    const routes = registeredRoutes(t.app.printRoutes({ commonPrefix: false }));
    // The parser must see nested routes, or this test would pass by seeing nothing.
    assert.ok(routes.has('/v1/revocations/stream'));
    assert.ok(routes.has('/dashboard/assets/{name}'));
    assert.ok(routes.size >= 17, `only ${routes.size} routes parsed`);
    const missing: string[] = [];
    for (const [path, methods] of routes) {
      if (path === '/docs' || path.startsWith('/docs/')) continue;
      for (const method of methods) if (!doc.paths[path]?.[method.toLowerCase()]) missing.push(`${method} ${path}`);
    }
    assert.deepEqual(missing, []);
  });

  it('serves the reference page with its script from this server, nothing from a CDN', async () => {
    const page = await t.app.inject({ url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    const sources = [...page.body.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(sources, ['js/scalar.js']);
    assert.doesNotMatch(page.body, /https?:\/\//);
    const script = await t.app.inject({ url: '/docs/js/scalar.js' });
    assert.equal(script.statusCode, 200);
    assert.match(script.headers['content-type'] as string, /javascript/);
    assert.equal(script.headers['cache-control'], 'public, max-age=86400');
    assert.ok(script.body.length > 100_000);
  });
});
