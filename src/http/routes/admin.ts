import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError } from '../../errors.js';
import type { Services } from '../../services.js';
import { QUEUES } from '../../storage/redis/keys.js';
import { requireAdmin } from '../plugins/admin.js';
import { sendError } from '../plugins/errors.js';

export const ADMIN_QUEUES_PATH = '/admin/queues';

/**
 * The queue dashboard (bull-board) at /admin/queues: off unless
 * MERIDIAN_ADMIN_TOKEN is set, and then only for requests bearing it. It shows
 * the BullMQ queues, so it needs REDIS_URL; the embedded in-process queue has
 * nothing to show across processes.
 */
export async function adminRoutes(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const token = services.config.adminToken;
  const link = services.shared.link;
  if (!token) return;
  if (!link) {
    services.logger.info('MERIDIAN_ADMIN_TOKEN is set but REDIS_URL is not: the queue dashboard needs the BullMQ queues and stays off');
    return;
  }
  const connection = link.producer();
  const queues = Object.values(QUEUES).map((name) => new Queue(name, { connection, prefix: services.shared.keys.queuePrefix(name) }));
  const board = new FastifyAdapter();
  board.setBasePath(ADMIN_QUEUES_PATH);
  createBullBoard({ queues: queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });

  const gate = requireAdmin(token);
  await app.register(async (scope) => {
    // Answered here: errors inside bull-board's routes go to its own error handler, not the service's.
    scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        await gate(request);
      } catch (err) {
        if (!isAppError(err)) throw err;
        return sendError(reply, err);
      }
    });
    await scope.register(board.registerPlugin(), { prefix: ADMIN_QUEUES_PATH });
  });
  app.addHook('onClose', async () => {
    await Promise.all(queues.map((q) => q.close()));
    connection.disconnect();
  });
}
