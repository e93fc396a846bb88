import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardAdapter } from '@bull-board/fastify';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AccessGuard, RequirePermissions } from '@app/auth';
import { AppError, Permission, Principal, QueueRegistry, toErrorResponse } from '@app/core';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';
/** Holds the admin's access token for a browser (HttpOnly, this path only, until the token expires). */
const COOKIE = 'cocode_queues';
const BEARER = /^Bearer \S+$/;

/** The dashboard's access rule, read by the AccessGuard exactly as on a controller. */
@RequirePermissions(Permission.QueuesAdmin)
class QueueDashboardAccess {
  open(): void {}
}

const LOGIN_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Queues · OpenClaw CoCode</title>
<style>body{font:15px system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}
input{width:100%;padding:.5rem;margin:.5rem 0;box-sizing:border-box}button{padding:.5rem 1rem}</style></head>
<body><h1>Queue dashboard</h1>
<p>Paste an administrator's access token (<code>POST /v2/auth/token</code>). It is kept in an HttpOnly
cookie for this page only, until the token expires.</p>
<form method="post" action="${QUEUE_DASHBOARD_PATH}/session">
<input type="password" name="accessToken" autocomplete="off" required placeholder="access token">
<button type="submit">Open</button></form></body></html>`;

function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const response = toErrorResponse(err, request.id);
  if (response.unexpected) request.log.error({ err }, 'queue dashboard access check failed');
  for (const [name, value] of Object.entries(response.headers ?? {})) reply.header(name, value);
  return reply.code(response.status).send(response.body);
}

/**
 * The BullMQ dashboard (bull-board) at /admin/queues, for administrators: every queue of the
 * job catalogue, its jobs, retries and failures. Its routes are Fastify's, outside Nest's
 * pipeline, so a hook runs the gateway's own AccessGuard on each of them with the rule
 * queues:admin: the same token checks, principal cache and 401/403 envelopes as the API.
 *
 * API clients send `Authorization: Bearer`. A browser opens /admin/queues/login, posts the token
 * once, and gets it back as an HttpOnly, SameSite=Strict cookie scoped to /admin/queues that lives
 * as long as the token; the guard checks it on every request, so a revoked token, a suspended
 * admin or a demoted one is refused at once.
 */
export async function installQueueDashboard(app: NestFastifyApplication): Promise<void> {
  const guard = app.get(AccessGuard);
  const queues = app.get(QueueRegistry).all();
  const board = new BullBoardAdapter();
  board.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'CoCode queues' } },
  });
  const handler = QueueDashboardAccess.prototype.open;

  /** Runs the AccessGuard; the principal, or the error it raised. */
  const authorize = async (request: FastifyRequest, reply: FastifyReply) => {
    const context = new ExecutionContextHost([request, reply], QueueDashboardAccess, handler);
    context.setType('http');
    await guard.canActivate(context);
  };

  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  await fastify.register(
    async (scope) => {
      scope.get('/login', async (_request, reply) => reply.type('text/html; charset=utf-8').send(LOGIN_PAGE));

      // Form or JSON: { accessToken }. Checked before it is kept: only an admin's token is.
      scope.post('/session', async (request, reply) => {
        const token = (request.body as { accessToken?: unknown } | undefined)?.accessToken;
        if (typeof token !== 'string' || !token.trim())
          return sendError(
            request,
            reply,
            AppError.validation([
              { field: 'accessToken', message: 'accessToken should not be empty', code: 'required' },
            ]),
          );
        request.headers.authorization = `Bearer ${token.trim()}`;
        try {
          await authorize(request, reply);
        } catch (err) {
          return sendError(request, reply, err);
        }
        const { expiresAt } = (request as unknown as { user: Principal }).user;
        const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
        const secure = request.protocol === 'https' ? '; Secure' : '';
        return reply
          .header(
            'set-cookie',
            `${COOKIE}=${encodeURIComponent(token.trim())}; Path=${QUEUE_DASHBOARD_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`,
          )
          .redirect(QUEUE_DASHBOARD_PATH, 303);
      });

      await scope.register(async (dashboard) => {
        dashboard.addHook('onRequest', async (request, reply) => {
          if (!BEARER.test(request.headers.authorization ?? '')) {
            const token = cookieToken(request.headers.cookie);
            if (token) request.headers.authorization = `Bearer ${token}`;
          }
          try {
            await authorize(request, reply);
          } catch (err) {
            // A browser asking for a page without a (valid) token is shown the sign-in form.
            const page = request.method === 'GET' && (request.headers.accept ?? '').includes('text/html');
            if (page && err instanceof AppError && err.status === 401)
              return reply.redirect(`${QUEUE_DASHBOARD_PATH}/login`, 303);
            return sendError(request, reply, err);
          }
        });
        await dashboard.register(board.registerPlugin());
      });
    },
    { prefix: QUEUE_DASHBOARD_PATH },
  );
}
