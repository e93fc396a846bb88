import { Injectable } from '@nestjs/common';
import { Sql } from '@app/core';
import { EntityManager, IsNull } from 'typeorm';
import { RefreshTokenEntity } from './refresh-token.entity';

/** A new refresh token's columns (created_at comes from the database). */
export type NewRefreshToken = Omit<RefreshTokenEntity, 'createdAt' | 'user' | 'client'>;

/** Every statement on the refresh_tokens table; each runs in the caller's transaction. */
@Injectable()
export class RefreshTokensRepository {
  constructor(private readonly sql: Sql) {}

  findByHash(manager: EntityManager, tokenHash: string): Promise<RefreshTokenEntity | null> {
    return manager.findOneBy(RefreshTokenEntity, { tokenHash });
  }

  /**
   * Atomically claims an unused, unrevoked token: of two concurrent refreshes with one token,
   * one wins (true) and the other finds it taken (false).
   */
  async claim(manager: EntityManager, id: string): Promise<boolean> {
    const claimed = await this.sql.rows(
      `UPDATE refresh_tokens SET used_at = now() WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL RETURNING id`,
      [id],
      manager,
    );
    return claimed.length > 0;
  }

  async insert(manager: EntityManager, token: NewRefreshToken): Promise<void> {
    await manager.insert(RefreshTokenEntity, token);
  }

  /** Revokes every token of a sign-in. */
  async revokeFamily(manager: EntityManager, familyId: string): Promise<void> {
    await this.sql.exec(
      `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`,
      [familyId],
      manager,
    );
  }

  /** Revokes every token issued through a client. */
  async revokeForClient(manager: EntityManager, clientId: string): Promise<void> {
    await manager.update(RefreshTokenEntity, { clientId, revokedAt: IsNull() }, { revokedAt: new Date() });
  }
}
