import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { containsPattern, Role, skipTake, Sql } from '@app/core';
import { EntityManager, In, IsNull, Repository } from 'typeorm';
import { ListUsersQueryDto } from './user.dto';
import { Tier, UserEntity, UserStatus } from './user.entity';

const SORT_COLUMNS: Record<ListUsersQueryDto['sortBy'], string> = {
  createdAt: 'u.created_at',
  username: 'u.username',
  email: 'u.email',
  fullName: 'u.full_name',
  lastLoginAt: 'u.last_login_at',
};

/** The facts authentication needs about a user, cached per gateway. */
export interface UserAuthState {
  id: string;
  username: string;
  role: Role;
  status: UserStatus;
  tier: Tier;
  deleted: boolean;
  tokensValidAfter: Date | null;
}

/** The columns authState reads. */
export type UserAuthRow = Pick<
  UserEntity,
  'id' | 'username' | 'role' | 'status' | 'tier' | 'deletedAt' | 'tokensValidAfter'
>;

export function mapAuthState(u: UserAuthRow): UserAuthState {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    status: u.status,
    tier: u.tier,
    deleted: u.deletedAt !== null,
    tokensValidAfter: u.tokensValidAfter,
  };
}

/** A new user's columns (created_at/updated_at come from the database). */
export type NewUser = Omit<
  UserEntity,
  'createdAt' | 'updatedAt' | 'verificationTokenHash' | 'verificationExpiresAt'
> &
  Partial<Pick<UserEntity, 'verificationTokenHash' | 'verificationExpiresAt'>>;

/**
 * Every statement on the users table. Without a manager a read goes straight to the pool (or
 * TypeORM's own manager); with a transaction's manager it runs inside that transaction.
 */
@Injectable()
export class UsersRepository {
  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    private readonly sql: Sql,
  ) {}

  async list(query: ListUsersQueryDto): Promise<[UserEntity[], number]> {
    const qb = this.users.createQueryBuilder('u').where('u.deleted_at IS NULL');
    if (query.role) qb.andWhere('u.role = :role', { role: query.role });
    if (query.status) qb.andWhere('u.status = :status', { status: query.status });
    if (query.search) {
      const like = containsPattern(query.search);
      qb.andWhere('(u.username ILIKE :like OR u.email ILIKE :like OR u.full_name ILIKE :like)', { like });
    }
    const order = query.sortOrder === 'asc' ? 'ASC' : 'DESC';
    const { skip, take } = skipTake(query);
    return qb
      .orderBy(SORT_COLUMNS[query.sortBy], order, order === 'ASC' ? 'NULLS FIRST' : 'NULLS LAST')
      .addOrderBy('u.id', order)
      .skip(skip)
      .take(take)
      .getManyAndCount();
  }

  /** The hot read: one prepared SQL text, no query builder. A deleted user is not found. */
  async findActive(userId: string): Promise<UserEntity | undefined> {
    return this.sql.one<UserEntity>(
      `SELECT id, username, email, full_name AS "fullName", role, status, tier, avatar, department,
              email_verified_at AS "emailVerifiedAt", created_at AS "createdAt", updated_at AS "updatedAt",
              last_login_at AS "lastLoginAt"
         FROM users WHERE id = $1 AND deleted_at IS NULL`,
      [userId],
    );
  }

  /** The user (deleted ones too), through the transaction when given. */
  findById(userId: string, manager?: EntityManager): Promise<UserEntity | null> {
    return this.repo(manager).findOneBy({ id: userId });
  }

  findByIdOrFail(manager: EntityManager, userId: string): Promise<UserEntity> {
    return manager.findOneByOrFail(UserEntity, { id: userId });
  }

  /** An entity to insert (nothing is written yet). */
  build(user: NewUser): UserEntity {
    return this.users.create(user);
  }

  async insert(manager: EntityManager, user: UserEntity): Promise<void> {
    await manager.insert(UserEntity, user);
  }

  async update(manager: EntityManager, userId: string, changes: Partial<UserEntity>): Promise<void> {
    await manager.update(UserEntity, { id: userId }, changes);
  }

  async delete(manager: EntityManager, userId: string): Promise<void> {
    await manager.delete(UserEntity, { id: userId });
  }

  findPasswordHash(userId: string): Promise<Pick<UserEntity, 'id' | 'passwordHash'> | null> {
    return this.users.findOne({
      where: { id: userId },
      select: { id: true, passwordHash: true },
    });
  }

  findByVerificationHash(hash: string): Promise<UserEntity | null> {
    return this.users
      .createQueryBuilder('u')
      .where('u.verification_token_hash = :hash', { hash })
      .andWhere('u.deleted_at IS NULL')
      .getOne();
  }

  /** The user with their password hash, by username or e-mail (case-insensitive). */
  findForLogin(login: string): Promise<UserEntity | null> {
    return this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('(lower(u.username) = lower(:login) OR lower(u.email) = lower(:login))', { login })
      .andWhere('u.deleted_at IS NULL')
      .getOne();
  }

  async authState(userId: string): Promise<UserAuthState | null> {
    const u = await this.users.findOne({
      where: { id: userId },
      select: {
        id: true,
        username: true,
        role: true,
        status: true,
        tier: true,
        deletedAt: true,
        tokensValidAfter: true,
      },
    });
    return u ? mapAuthState(u) : null;
  }

  async recordLogin(userId: string): Promise<void> {
    await this.users.update({ id: userId }, { lastLoginAt: new Date() });
  }

  count(manager?: EntityManager): Promise<number> {
    return this.repo(manager).count();
  }

  /** The first administrator ever created, or null. */
  firstAdmin(manager: EntityManager): Promise<UserEntity | null> {
    return manager.findOne(UserEntity, {
      where: { role: Role.Admin },
      order: { createdAt: 'ASC' },
    });
  }

  /** Of these ids, those of users that exist and are not deleted. */
  async existingIds(ids: string[], manager?: EntityManager): Promise<Set<string>> {
    const found = await this.repo(manager).find({
      where: { id: In(ids), deletedAt: IsNull() },
      select: { id: true },
    });
    return new Set(found.map((u) => u.id));
  }

  /**
   * Sets the password of a user found by username (case-insensitive, not deleted) and ends every
   * token they hold; their id, or undefined when there is no such user.
   */
  async resetPassword(
    manager: EntityManager,
    username: string,
    passwordHash: string,
  ): Promise<string | undefined> {
    const row = await this.sql.one<{ id: string }>(
      `UPDATE users SET password_hash = $1, tokens_valid_after = now(), updated_at = now()
        WHERE lower(username) = lower($2) AND deleted_at IS NULL RETURNING id`,
      [passwordHash, username],
      manager,
    );
    return row?.id;
  }

  private repo(manager?: EntityManager): Repository<UserEntity> {
    return manager?.getRepository(UserEntity) ?? this.users;
  }
}
