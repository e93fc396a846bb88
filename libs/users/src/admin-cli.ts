// `npm run admin -- reset-password [--username NAME] [--password PASSWORD]`: sets a user's
// password (the bootstrap admin's by default) straight in the database. For the administrator who
// lost it: BOOTSTRAP_ADMIN_PASSWORD only applies on the first start, with an empty database.
// Without --password a strong one is generated and printed. Every token the user holds dies (as
// with PUT /v2/users/me/password), and the change is in the audit log. Reads .env like npm start.
import 'reflect-metadata';
import { hash } from '@node-rs/argon2';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { getConfig } from '@app/core/config/app-config';
import { PRINCIPAL_CHANNEL } from '@app/core/access/principal-events';
import { DatabasePool } from '@app/core/database/database-pool';
import { dataSourceOptions } from '@app/core/database/data-source-options';
import { Sql } from '@app/core/database/sql';
import { UnitOfWork } from '@app/core/database/unit-of-work';
import { newId, newSecret } from '@app/core/ids';
import { AuditLogEntity } from './audit-log.entity';
import { AuditLogRepository } from './audit-log.repository';
import { PASSWORD_HASH_OPTIONS, PASSWORD_RULE, PASSWORD_RULE_MESSAGE } from './password-hasher';
import { UserEntity } from './user.entity';
import { UsersRepository } from './users.repository';

const USAGE = 'usage: npm run admin -- reset-password [--username NAME] [--password PASSWORD]\n';

export async function resetPassword(args: string[]): Promise<string> {
  const { values } = parseArgs({
    args,
    options: { username: { type: 'string' }, password: { type: 'string' } },
    strict: true,
  });
  const config = getConfig();
  const username = values.username ?? config.bootstrap.adminUsername;
  const password = values.password ?? `${newSecret(12)}Aa1`;
  if (!PASSWORD_RULE.test(password)) throw new Error(PASSWORD_RULE_MESSAGE);
  const passwordHash = await hash(password, PASSWORD_HASH_OPTIONS);
  // The statements are the repositories' own, on a pool of this process's (no Nest here).
  const database = new DatabasePool(config, 'cocode-admin');
  const dataSource = new DataSource(dataSourceOptions(config, 'cocode-admin', database.pool));
  await dataSource.initialize();
  let userId: string;
  try {
    const sql = new Sql(database);
    const users = new UsersRepository(dataSource.getRepository(UserEntity), sql);
    const audit = new AuditLogRepository(dataSource.getRepository(AuditLogEntity));
    userId = await new UnitOfWork(dataSource).run(async (tx) => {
      const id = await users.resetPassword(tx.manager, username, passwordHash);
      if (!id) throw new Error(`no user "${username}" in ${redact(config.database.url)}`);
      await audit.insert(tx.manager, {
        id: newId('audit'),
        actorId: null,
        action: 'user.password_reset',
        targetType: 'user',
        targetId: id,
        details: { via: 'npm run admin -- reset-password' },
        requestId: null,
      });
      return id;
    });
  } finally {
    await dataSource.destroy();
  }
  // Running gateways drop their cached principal of this user (tokens issued before now die).
  const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.publish(
      `${config.redis.prefix}:${PRINCIPAL_CHANNEL}`,
      JSON.stringify({ kind: 'user', id: userId }),
    );
  } catch {
    // Without Redis the gateways' caches expire on their own.
  } finally {
    redis.disconnect();
  }
  return values.password
    ? `password of "${username}" (${userId}) reset\n`
    : `password of "${username}" (${userId}) reset; the new password: ${password}\n`;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

async function main(argv: string[]): Promise<number> {
  const env = join(process.cwd(), '.env');
  if (existsSync(env)) process.loadEnvFile(env);
  const [command, ...rest] = argv;
  if (command !== 'reset-password') {
    process.stderr.write(USAGE);
    return 64; // EX_USAGE
  }
  process.stdout.write(await resetPassword(rest));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`admin: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
      process.exit(1);
    },
  );
}
