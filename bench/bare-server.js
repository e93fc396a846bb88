'use strict';
// The baseline: a bare Fastify server with a pg Pool (max 10, like the gateway's default
// DATABASE_POOL_SIZE) serving GET /users/:id with the query the gateway runs for
// GET /v2/users/{userId} and the same mapping (libs/users/src/user.dto.ts mapUser). No auth,
// no logging, no validation, no interceptors: what the hardware gives for one indexed row.
// Run by bench/run.js as a child process: BARE_PORT, DATABASE_URL.
const fastify = require('fastify');
const { Pool } = require('pg');

// The gateway runs (TypeORM findOneBy, UsersService.findVisible) exactly these columns; it
// checks deleted_at in JavaScript afterwards, the baseline does it in SQL (same result).
const SQL = `SELECT id, username, email, full_name, role, status, tier, avatar, department,
  email_verified_at, verification_expires_at, last_login_at, tokens_valid_after,
  created_at, updated_at, deleted_at
  FROM users WHERE id = $1 AND deleted_at IS NULL LIMIT 1`;

// libs/core/src/http/time.ts iso(): seconds precision, "Z".
const iso = (d) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : null);

// libs/users/src/user.dto.ts mapUser()
const mapUser = (u) => ({
  id: u.id,
  username: u.username,
  email: u.email,
  fullName: u.full_name,
  role: u.role,
  status: u.status,
  tier: u.tier,
  avatar: u.avatar,
  department: u.department,
  emailVerified: u.email_verified_at !== null,
  createdAt: iso(u.created_at),
  updatedAt: iso(u.updated_at),
  lastLoginAt: iso(u.last_login_at),
});

async function main() {
  const port = Number(process.env.BARE_PORT);
  const pool = new Pool({
    connectionString: process.env.DATABASE_URL,
    max: 10,
    connectionTimeoutMillis: 3000,
    statement_timeout: 30000,
    application_name: 'cocode-bench-bare',
  });
  const app = fastify({ logger: false });

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/users/:id', async (req, reply) => {
    const { rows } = await pool.query(SQL, [req.params.id]);
    if (rows.length === 0) {
      reply.code(404);
      return { error: { code: 'NOT_FOUND', message: 'user not found' } };
    }
    return mapUser(rows[0]);
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
  process.stderr.write(`bare server failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
