import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppConfig, maxScopesFor, newId, newSecret, Role, UnitOfWork, withAdvisoryLock } from '@app/core';
import { UserEntity, UsersService } from '@app/users';
import { DataSource } from 'typeorm';
import { ApiClientEntity } from './api-client.entity';
import { ApiClientsService } from './api-clients.service';

const BOOTSTRAP_LOCK_KEY = 727_002;

/**
 * First start with an empty database: an admin and an API client, from BOOTSTRAP_* or
 * generated and printed once. Later starts only add the configured client if it is missing.
 */
@Injectable()
export class BootstrapService {
  private readonly logger = new Logger(BootstrapService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly uow: UnitOfWork,
    private readonly users: UsersService,
    private readonly clients: ApiClientsService,
    private readonly config: AppConfig,
  ) {}

  async run(): Promise<void> {
    await withAdvisoryLock(this.dataSource, BOOTSTRAP_LOCK_KEY, () =>
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
            this.announce(`Generated bootstrap admin password for "${admin.username}": ${password}`);
        }
        if (b.clientId && (await tx.manager.exists(ApiClientEntity, { where: { id: b.clientId } }))) return;
        if (!admin && !b.clientId) return;
        admin ??= await tx.manager.findOne(UserEntity, {
          where: { role: Role.Admin },
          order: { createdAt: 'ASC' },
        });
        if (!admin) return;
        const id = b.clientId ?? newId('client');
        const secret = b.clientSecret ?? newSecret(32);
        await this.clients.insert(
          tx,
          { id, name: 'bootstrap', ownerId: admin.id, scopes: maxScopesFor(Role.Admin), secret },
          null,
        );
        this.logger.log({ msg: 'bootstrap API client created', clientId: id });
        if (!b.clientSecret)
          this.announce(`Generated bootstrap API client: client_id=${id} client_secret=${secret}`);
      }),
    );
  }

  /** Shown once on stderr, not through the JSON log (which must never carry secrets). */
  private announce(line: string): void {
    process.stderr.write(`\n*** ${line}\n*** Store it now: it is not shown again.\n\n`);
  }
}
