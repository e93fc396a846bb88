import { Injectable, Logger } from '@nestjs/common';
import { AppConfig, maxScopesFor, newId, newSecret, Role, UnitOfWork } from '@app/core';
import { UserEntity, UsersService } from '@app/users';
import { ApiClientsService } from './api-clients.service';
import { BootstrapRepository } from './bootstrap.repository';

/**
 * First start with an empty database: an admin and an API client, from BOOTSTRAP_* or
 * generated and printed once. Later starts only add the configured client if it is missing.
 */
@Injectable()
export class BootstrapService {
  private readonly logger = new Logger(BootstrapService.name);

  constructor(
    private readonly lock: BootstrapRepository,
    private readonly uow: UnitOfWork,
    private readonly users: UsersService,
    private readonly clients: ApiClientsService,
    private readonly config: AppConfig,
  ) {}

  /**
   * Returns the generated credentials, for the caller to show once the process is ready (after
   * everything else it logs at start, so they are not lost among other lines): see
   * formatCredentials.
   */
  async run(): Promise<string[]> {
    const generated: string[] = [];
    await this.lock.underLock(() =>
      this.uow.run(async (tx) => {
        const b = this.config.bootstrap;
        let admin: UserEntity | null = null;
        if ((await this.users.count(tx)) === 0) {
          const password = b.adminPassword ?? `${newSecret(12)}Aa1`;
          admin = await this.users.createActive(tx, {
            username: b.adminUsername,
            email: b.adminEmail,
            fullName: 'Administrator',
            role: Role.Admin,
            password,
          });
          this.logger.log({ msg: 'bootstrap admin created', userId: admin.id, username: admin.username });
          if (!b.adminPassword)
            generated.push(`admin user:      ${admin.username}`, `admin password:  ${password}`);
        }
        if (b.clientId && (await this.clients.exists(b.clientId, tx))) return;
        if (!admin && !b.clientId) return;
        admin ??= await this.users.firstAdmin(tx);
        if (!admin) return;
        const id = b.clientId ?? newId('client');
        const secret = b.clientSecret ?? newSecret(32);
        await this.clients.insert(
          tx,
          { id, name: 'bootstrap', ownerId: admin.id, scopes: maxScopesFor(Role.Admin), secret },
          null,
        );
        this.logger.log({ msg: 'bootstrap API client created', clientId: id });
        if (!b.clientSecret) generated.push(`client_id:       ${id}`, `client_secret:   ${secret}`);
      }),
    );
    return generated;
  }
}

/**
 * The generated bootstrap credentials in a frame, for stderr (never the JSON log, which must not
 * carry secrets). Empty when nothing was generated.
 */
export function formatCredentials(lines: string[]): string {
  if (lines.length === 0) return '';
  const body = [
    'Generated on this first start (the database was empty):',
    '',
    ...lines,
    '',
    'Store them now: they are not shown again.',
    'Forgot the password? npm run admin -- reset-password',
  ];
  const width = Math.max(...body.map((l) => l.length));
  const rule = `+${'-'.repeat(width + 2)}+`;
  return ['', rule, ...body.map((l) => `| ${l.padEnd(width)} |`), rule, ''].join('\n') + '\n';
}
