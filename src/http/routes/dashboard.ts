import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_HISTORY, type HistoryOptions, MetricsHistory, readSnapshot } from '../../observability/dashboard-data.js';
import type { Services } from '../../services.js';
import { requireAdmin } from '../plugins/admin.js';
import { errors } from '../schemas.js';

const here = (name: string): URL => new URL(`../dashboard/${name}`, import.meta.url);
const fromPackage = (spec: string): string => createRequire(import.meta.url).resolve(spec);

/** Files the page loads, read once: the page's own and uPlot's, from the installed package (no CDN). */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  return new Map([
    ['dashboard.js', { type: js, body: readFileSync(here('dashboard.js')) }],
    ['dashboard.css', { type: css, body: readFileSync(here('dashboard.css')) }],
    ['uPlot.iife.min.js', { type: js, body: readFileSync(fromPackage('uplot/dist/uPlot.iife.min.js')) }],
    ['uPlot.min.css', { type: css, body: readFileSync(fromPackage('uplot/dist/uPlot.min.css')) }],
  ]);
}

// The page runs only its own files: no inline script, no other origin.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const snapshotSchema = { type: 'object', additionalProperties: true } as const;

export interface DashboardOptions {
  services: Services;
  history?: HistoryOptions;
}

/**
 * The live dashboard at /dashboard, registered only when an admin token is
 * configured (otherwise every path here is a 404). The page and its scripts
 * hold no data and load without the token, since a browser cannot attach a
 * header to a navigation; the page asks for the token once, keeps it in
 * sessionStorage and sends it as a bearer token on every /dashboard/data call.
 */
export async function dashboardRoutes(app: FastifyInstance, { services, history: historyOptions }: DashboardOptions): Promise<void> {
  const { config, metrics, clock } = services;
  if (!config.adminToken) return;
  const assets = loadAssets();
  const page = readFileSync(here('index.html'));
  const history = new MetricsHistory(
    () => readSnapshot(metrics, clock),
    historyOptions ?? DEFAULT_HISTORY,
    (err) => services.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'dashboard snapshot failed; retried at the next tick'),
  );
  app.addHook('onReady', async () => history.start());
  app.addHook('onClose', async () => history.stop());

  app.get('/dashboard', { schema: { response: { 200: { type: 'string' } } } }, async (_request, reply) => {
    return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(page);
  });

  app.get<{ Params: { name: string } }>(
    '/dashboard/assets/:name',
    { schema: { params: { type: 'object', properties: { name: { type: 'string', maxLength: 64 } }, required: ['name'] }, response: errors(404) } },
    async (request, reply) => {
      const asset = assets.get(request.params.name);
      if (!asset) return reply.callNotFound();
      return reply
        .headers({ ...PAGE_HEADERS, 'cache-control': 'public, max-age=300' })
        .type(asset.type)
        .send(asset.body);
    },
  );

  app.get<{ Querystring: { since?: string } }>(
    '/dashboard/data',
    {
      preHandler: requireAdmin(config.adminToken),
      schema: {
        // Query values are strings here (the app's Ajv does not coerce): epoch ms as digits.
        querystring: { type: 'object', additionalProperties: false, properties: { since: { type: 'string', pattern: '^[0-9]{1,16}$' } } },
        response: {
          200: {
            type: 'object',
            required: ['region', 'everyMs', 'samples'],
            properties: { region: { type: 'string' }, everyMs: { type: 'integer' }, samples: { type: 'array', items: snapshotSchema } },
          },
          ...errors(400, 401),
        },
      },
    },
    async (request) => {
      // Kept history after `since`, then a fresh reading, so every poll ends at "now".
      const samples = [...history.since(Number(request.query.since ?? 0)), await readSnapshot(metrics, clock)];
      return { region: config.region, everyMs: history.options.everyMs, samples };
    },
  );
}
