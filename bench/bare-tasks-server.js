'use strict';
// The baseline of bench/tasks.js: a bare Fastify server with a pg Pool (max 10, like the
// gateway's default DATABASE_POOL_SIZE) that runs the gateway's SQL for
//   GET /projects/:projectId/tasks?status=&page=&pageSize=   (project lookup, then page + total in parallel)
//   GET /tasks/:taskRef                                      (one SELECT: task + project + membership)
// and answers the same JSON (bench/lib/tasks-sql.js). No auth, no logging, no validation beyond
// what routing needs: the viewer is fixed (BARE_VIEWER_ID, an administrator, who sees every
// project, as the gateway's admin token does).
// Run by bench/tasks.js as a child process: BARE_PORT, DATABASE_URL, BARE_VIEWER_ID.
const fastify = require('fastify');
const { Pool } = require('pg');
const {
  PROJECT_BY_ID,
  TASK_BY_ID,
  TASK_BY_KEY,
  TASK_ID,
  TASK_KEY,
  TASK_STATUSES,
  listCountSql,
  listPageSql,
  mapTaskRow,
  pageOf,
} = require('./lib/tasks-sql');

const notFound = (reply, what) => {
  reply.code(404);
  return { error: { code: 'NOT_FOUND', message: `${what} not found` } };
};
const badRequest = (reply, message) => {
  reply.code(400);
  return { error: { code: 'VALIDATION_FAILED', message } };
};

// ProjectAccessService.canSee() for an administrator viewer: always true. Kept as the same rule so
// that a non-admin BARE_VIEWER_ADMIN=0 would behave like the gateway too.
const viewerIsAdmin = process.env.BARE_VIEWER_ADMIN !== '0';
const canSee = (visibility, memberRole) =>
  viewerIsAdmin || memberRole !== null || visibility === 'internal' || visibility === 'public';

const positiveInt = (raw, fallback, max) => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= max ? n : null;
};

async function main() {
  const port = Number(process.env.BARE_PORT);
  const viewerId = process.env.BARE_VIEWER_ID;
  if (!viewerId) throw new Error('BARE_VIEWER_ID is required');
  const pool = new Pool({
    connectionString: process.env.DATABASE_URL,
    max: 10,
    connectionTimeoutMillis: 3000,
    statement_timeout: 30000,
    application_name: 'cocode-bench-bare-tasks',
  });
  const app = fastify({ logger: false });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/projects/:projectId/tasks', async (req, reply) => {
    const { status } = req.query;
    const page = positiveInt(req.query.page, 1, 1e9);
    const pageSize = positiveInt(req.query.pageSize, 20, 100);
    if (page === null || pageSize === null) return badRequest(reply, 'page/pageSize out of range');
    if (status !== undefined && !TASK_STATUSES.includes(status)) return badRequest(reply, 'bad status');
    const { rows: projects } = await pool.query(PROJECT_BY_ID, [req.params.projectId, viewerId]);
    const project = projects[0];
    if (!project || !canSee(project.visibility, project.memberRole ?? null))
      return notFound(reply, 'project');
    const query = { status, page, pageSize };
    const params = status ? [project.id, status] : [project.id];
    const [rows, count] = await Promise.all([
      pool.query(listPageSql(query), params),
      pool.query(listCountSql(query), params),
    ]);
    return pageOf(rows.rows.map(mapTaskRow), Number(count.rows[0].n), query);
  });

  app.get('/tasks/:taskRef', async (req, reply) => {
    const ref = req.params.taskRef;
    const byKey = TASK_KEY.test(ref);
    if (!byKey && !TASK_ID.test(ref)) return notFound(reply, 'task');
    const { rows } = await pool.query(byKey ? TASK_BY_KEY : TASK_BY_ID, [ref, viewerId]);
    const r = rows[0];
    if (!r || !canSee(r.p_visibility, r.member_role)) return notFound(reply, 'task');
    return mapTaskRow(r);
  });

  const stop = () => {
    app
      .close()
      .then(() => pool.end())
      .finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  await app.listen({ port, host: '127.0.0.1' });
}

main().catch((err) => {
  process.stderr.write(`bare tasks server failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
