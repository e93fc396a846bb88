import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { skipTake } from '@app/core';
import { EntityManager, Repository } from 'typeorm';
import { ListApiClientsQueryDto } from './api-client.dto';
import { ApiClientEntity } from './api-client.entity';

/** A new client's columns (created_at comes from the database). */
export type NewApiClient = Pick<
  ApiClientEntity,
  'id' | 'name' | 'ownerId' | 'scopes' | 'secretHash' | 'lastUsedAt' | 'secretRotatedAt'
>;

/** Every statement on the api_clients table. */
@Injectable()
export class ApiClientsRepository {
  constructor(@InjectRepository(ApiClientEntity) private readonly clients: Repository<ApiClientEntity>) {}

  /** Inserts the client in the caller's transaction; the stored row. */
  async insert(manager: EntityManager, fields: NewApiClient): Promise<ApiClientEntity> {
    const client = manager.create(ApiClientEntity, fields);
    await manager.insert(ApiClientEntity, client);
    return manager.findOneByOrFail(ApiClientEntity, { id: client.id });
  }

  /** One page of clients, of one owner or of everyone. */
  list(ownerId: string | undefined, query: ListApiClientsQueryDto): Promise<[ApiClientEntity[], number]> {
    const { skip, take } = skipTake(query);
    return this.clients.findAndCount({
      where: ownerId ? { ownerId } : {},
      order: { createdAt: query.sortOrder === 'asc' ? 'ASC' : 'DESC', id: 'ASC' },
      skip,
      take,
    });
  }

  findById(manager: EntityManager, clientId: string): Promise<ApiClientEntity | null> {
    return manager.findOneBy(ApiClientEntity, { id: clientId });
  }

  findByIdOrFail(manager: EntityManager, clientId: string): Promise<ApiClientEntity> {
    return manager.findOneByOrFail(ApiClientEntity, { id: clientId });
  }

  /** The client with its secret hash, for authentication. */
  findWithSecret(clientId: string): Promise<ApiClientEntity | null> {
    return this.clients.findOne({
      where: { id: clientId },
      select: { id: true, name: true, ownerId: true, scopes: true, secretHash: true, createdAt: true },
    });
  }

  /** The principal cache's read: is the client still there, and whose is it. */
  findOwner(clientId: string): Promise<Pick<ApiClientEntity, 'id' | 'ownerId'> | null> {
    return this.clients.findOne({ where: { id: clientId }, select: { id: true, ownerId: true } });
  }

  exists(clientId: string, manager?: EntityManager): Promise<boolean> {
    return manager
      ? manager.exists(ApiClientEntity, { where: { id: clientId } })
      : this.clients.exists({ where: { id: clientId } });
  }

  async touch(clientId: string): Promise<void> {
    await this.clients.update({ id: clientId }, { lastUsedAt: new Date() });
  }

  async setSecret(manager: EntityManager, clientId: string, secretHash: string): Promise<void> {
    await manager.update(ApiClientEntity, { id: clientId }, { secretHash, secretRotatedAt: new Date() });
  }

  async delete(manager: EntityManager, clientId: string): Promise<void> {
    await manager.delete(ApiClientEntity, { id: clientId });
  }
}
