import swagger from '@fastify/swagger';
import apiReference from '@scalar/fastify-api-reference';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/schema.js';

/**
 * OpenAPI 3.1 generated from the route schemas. Must be registered before any
 * route: it collects them as they are added. Routes that serve the reference
 * page's own assets are hidden; every other route is in the document (a test
 * keeps it so).
 */
export async function registerOpenApi(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Meridian',
        version: '1',
        description: 'Authentication token service: JWT access tokens, rotating refresh tokens, JWKS, and the standard OAuth 2.0 endpoints.',
      },
      servers: [{ url: config.issuer }],
      components: {
        securitySchemes: {
          accessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Meridian access token.' },
          serviceToken: { type: 'http', scheme: 'bearer', description: 'MERIDIAN_INTROSPECTION_TOKEN or MERIDIAN_ADMIN_TOKEN.' },
        },
      },
    },
  });
}

/** `/openapi.json` and the reference page at `/docs`, whose script is served from the package, not a CDN. */
export async function docsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/openapi.json', { schema: { response: { 200: { type: 'object', additionalProperties: true } } } }, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(app.swagger()),
  );
  // The 4 MB script changes only with the package: let browsers keep it.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.url.startsWith('/docs/js/')) reply.header('cache-control', 'public, max-age=86400');
    return payload;
  });
  await app.register(apiReference, {
    routePrefix: '/docs',
    // Nothing fetched from outside: no web fonts, no telemetry, none of the hosted extras (AI agent, MCP, client, developer tools).
    configuration: {
      pageTitle: 'Meridian API',
      url: '/openapi.json',
      withDefaultFonts: false,
      telemetry: false,
      hideClientButton: true,
      showDeveloperTools: 'never',
      agent: { disabled: true },
      mcp: { disabled: true },
    },
  });
}
