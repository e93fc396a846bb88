import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  AppError,
  maxScopesFor,
  newId,
  newSecret,
  Page,
  pageOf,
  Permission,
  Principal,
  PrincipalEvents,
  Scope,
  Tx,
  UnitOfWork,
} from '@app/core';
import { AuditLogService } from '@app/users';
import {
  ApiClientDto,
  ApiClientWithSecretDto,
  CreateApiClientDto,
  ListApiClientsQueryDto,
  mapApiClient,
} from './api-client.dto';
import { ApiClientEntity } from './api-client.entity';
import { ApiClientsRepository } from './api-clients.repository';
import { RefreshTokensRepository } from './refresh-tokens.repository';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

@Injectable()
export class ApiClientsService {
  constructor(
    private readonly clients: ApiClientsRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLogService,
    private readonly principals: PrincipalEvents,
  ) {}

  async create(actor: Principal, dto: CreateApiClientDto): Promise<ApiClientWithSecretDto> {
    const allowed = maxScopesFor(actor.role);
    const scopes = dto.scopes ?? allowed;
    const excess = scopes.filter((s) => !allowed.includes(s));
    if (excess.length) {
      throw AppError.validation([
        { field: 'scopes', message: `your role may not grant ${excess.join(', ')}`, code: 'invalid_scope' },
      ]);
    }
    const secret = newSecret(32);
    const client = await this.uow.run((tx) =>
      this.insert(
        tx,
        { id: newId('client'), name: dto.name, ownerId: actor.userId, scopes, secret },
        actor.userId,
      ),
    );
    return { ...mapApiClient(client), client_secret: secret };
  }

  async insert(
    tx: Tx,
    input: { id: string; name: string; ownerId: string; scopes: Scope[]; secret: string },
    actorId: string | null,
  ): Promise<ApiClientEntity> {
    const client = await this.clients.insert(tx.manager, {
      id: input.id,
      name: input.name,
      ownerId: input.ownerId,
      scopes: input.scopes.join(' '),
      secretHash: sha256(input.secret),
      lastUsedAt: null,
      secretRotatedAt: null,
    });
    await this.audit.record(tx, {
      actorId,
      action: 'client.created',
      targetType: 'client',
      targetId: client.id,
      details: { name: input.name, scopes: input.scopes },
    });
    return client;
  }

  async list(actor: Principal, query: ListApiClientsQueryDto): Promise<Page<ApiClientDto>> {
    const admin = actor.can(Permission.ClientsAdmin);
    if (query.ownerId && query.ownerId !== actor.userId && !admin)
      throw AppError.forbidden("Only an administrator may list other users' clients");
    const ownerId = admin ? query.ownerId : actor.userId;
    const [rows, total] = await this.clients.list(ownerId, query);
    return pageOf(rows.map(mapApiClient), total, query);
  }

  async remove(actor: Principal, clientId: string): Promise<void> {
    await this.uow.run(async (tx) => {
      const client = await this.findVisible(actor, clientId, tx);
      await this.clients.delete(tx.manager, client.id);
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'client.deleted',
        targetType: 'client',
        targetId: client.id,
        details: { name: client.name },
      });
      tx.afterCommit(() => this.principals.publish({ kind: 'client', id: client.id }));
    });
  }

  async rotateSecret(actor: Principal, clientId: string): Promise<ApiClientWithSecretDto> {
    const secret = newSecret(32);
    const client = await this.uow.run(async (tx) => {
      const found = await this.findVisible(actor, clientId, tx);
      await this.clients.setSecret(tx.manager, found.id, sha256(secret));
      // A rotation usually answers a leak: sign-ins made through the old secret end too.
      await this.refreshTokens.revokeForClient(tx.manager, found.id);
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'client.secret_rotated',
        targetType: 'client',
        targetId: found.id,
      });
      return this.clients.findByIdOrFail(tx.manager, found.id);
    });
    return { ...mapApiClient(client), client_secret: secret };
  }

  /** The client when id and secret match, else null (constant-time comparison). */
  async authenticate(clientId: string, secret: string): Promise<ApiClientEntity | null> {
    const client = await this.clients.findWithSecret(clientId);
    const expected = Buffer.from(client?.secretHash ?? sha256('no such client'), 'hex');
    const ok = timingSafeEqual(expected, Buffer.from(sha256(secret), 'hex'));
    if (!client || !ok) return null;
    void this.clients.touch(client.id).catch(() => undefined);
    return client;
  }

  exists(clientId: string, tx?: Tx): Promise<boolean> {
    return this.clients.exists(clientId, tx?.manager);
  }

  private async findVisible(actor: Principal, clientId: string, tx: Tx): Promise<ApiClientEntity> {
    const client = await this.clients.findById(tx.manager, clientId);
    // Someone else's client is answered as missing: its existence is not the caller's business.
    if (!client || (client.ownerId !== actor.userId && !actor.can(Permission.ClientsAdmin)))
      throw AppError.notFound('client', clientId);
    return client;
  }
}
