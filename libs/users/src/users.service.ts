import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import {
  AppConfig,
  AppError,
  containsPattern,
  newId,
  newSecret,
  Page,
  pageOf,
  Permission,
  Principal,
  PrincipalEvents,
  Role,
  skipTake,
  Sql,
  Tx,
  UnitOfWork,
  uniqueViolation,
} from '@app/core';
import { MailService } from '@app/mail';
import { Repository } from 'typeorm';
import { AuditLogService } from './audit-log.service';
import { PasswordHasher } from './password-hasher';
import {
  ChangePasswordDto,
  CreatedUserDto,
  CreateUserDto,
  ListUsersQueryDto,
  mapUser,
  UpdateUserDto,
  UserDto,
} from './user.dto';
import { Tier, UserEntity, UserStatus } from './user.entity';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const SORT_COLUMNS: Record<ListUsersQueryDto['sortBy'], string> = {
  createdAt: 'u.created_at',
  username: 'u.username',
  email: 'u.email',
  fullName: 'u.full_name',
  lastLoginAt: 'u.last_login_at',
};
/** What a user may change on their own account without users:admin. */
const SELF_EDITABLE = new Set<keyof UpdateUserDto>(['fullName', 'department', 'avatar']);

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

@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(UserEntity) private readonly users: Repository<UserEntity>,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLogService,
    private readonly mail: MailService,
    private readonly hasher: PasswordHasher,
    private readonly principals: PrincipalEvents,
    private readonly config: AppConfig,
    private readonly sql: Sql,
  ) {}

  async list(query: ListUsersQueryDto): Promise<Page<UserDto>> {
    const qb = this.users.createQueryBuilder('u').where('u.deleted_at IS NULL');
    if (query.role) qb.andWhere('u.role = :role', { role: query.role });
    if (query.status) qb.andWhere('u.status = :status', { status: query.status });
    if (query.search) {
      const like = containsPattern(query.search);
      qb.andWhere('(u.username ILIKE :like OR u.email ILIKE :like OR u.full_name ILIKE :like)', { like });
    }
    const order = query.sortOrder === 'asc' ? 'ASC' : 'DESC';
    const { skip, take } = skipTake(query);
    const [rows, total] = await qb
      .orderBy(SORT_COLUMNS[query.sortBy], order, order === 'ASC' ? 'NULLS FIRST' : 'NULLS LAST')
      .addOrderBy('u.id', order)
      .skip(skip)
      .take(take)
      .getManyAndCount();
    return pageOf(rows.map(mapUser), total, query);
  }

  /** The hot read: one prepared SQL text, no query builder. */
  async get(userId: string): Promise<UserDto> {
    const [row] = await this.sql.rows<UserEntity>(
      `SELECT id, username, email, full_name AS "fullName", role, status, tier, avatar, department,
              email_verified_at AS "emailVerifiedAt", created_at AS "createdAt", updated_at AS "updatedAt",
              last_login_at AS "lastLoginAt"
         FROM users WHERE id = $1 AND deleted_at IS NULL`,
      [userId],
    );
    if (!row) throw AppError.notFound('user', userId);
    return mapUser(row);
  }

  async create(actor: Principal, dto: CreateUserDto): Promise<CreatedUserDto> {
    const verificationToken = newSecret(24);
    const passwordHash = await this.hasher.hash(dto.password);
    const user = this.users.create({
      id: newId('user'),
      username: dto.username,
      email: dto.email,
      fullName: dto.fullName,
      role: dto.role ?? Role.Developer,
      department: dto.department ?? null,
      avatar: dto.avatar ?? null,
      status: UserStatus.PendingVerification,
      tier: Tier.Free,
      passwordHash,
      verificationTokenHash: sha256(verificationToken),
      verificationExpiresAt: new Date(Date.now() + this.config.auth.emailVerificationTtlHours * 3600_000),
      emailVerifiedAt: null,
      lastLoginAt: null,
      tokensValidAfter: null,
      deletedAt: null,
    });
    const saved = await this.uniquely(() =>
      this.uow.run(async (tx) => {
        await tx.manager.insert(UserEntity, user);
        await this.sendVerification(tx, user, verificationToken);
        await this.audit.record(tx, {
          actorId: actor.userId,
          action: 'user.created',
          targetType: 'user',
          targetId: user.id,
          details: { username: user.username, role: user.role },
        });
        return tx.manager.findOneByOrFail(UserEntity, { id: user.id });
      }),
    );
    return { ...mapUser(saved), verificationEmailSent: this.mail.canSend };
  }

  async update(actor: Principal, userId: string, dto: UpdateUserDto): Promise<UserDto> {
    const isAdmin = actor.can(Permission.UsersAdmin);
    const changes = Object.fromEntries(
      Object.entries(dto).filter(([, v]) => v !== undefined),
    ) as Partial<UpdateUserDto>;
    if (!isAdmin) {
      if (userId !== actor.userId) throw AppError.forbidden('Only an administrator may change other users');
      const denied = Object.keys(changes).filter((k) => !SELF_EDITABLE.has(k as keyof UpdateUserDto));
      if (denied.length)
        throw AppError.forbidden(`Only an administrator may change ${denied.join(', ')}`, { fields: denied });
    }
    if (
      userId === actor.userId &&
      ((changes.role && changes.role !== actor.role) ||
        (changes.status && changes.status !== UserStatus.Active))
    ) {
      throw AppError.conflict('You cannot change your own role or status; ask another administrator');
    }
    const updated = await this.uniquely(() =>
      this.uow.run(async (tx) => {
        const user = await this.findVisible(userId, tx);
        const before: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(changes)) {
          const k = key as keyof UpdateUserDto;
          if (user[k] !== value) before[k] = user[k];
        }
        if (Object.keys(before).length === 0) return user;
        Object.assign(user, changes);
        await tx.manager.update(UserEntity, { id: userId }, changes);
        const after = Object.fromEntries(
          Object.keys(before).map((k) => [k, changes[k as keyof UpdateUserDto]]),
        );
        await this.audit.record(tx, {
          actorId: actor.userId,
          action:
            changes.status && 'status' in before
              ? 'user.status_changed'
              : changes.role && 'role' in before
                ? 'user.role_changed'
                : 'user.updated',
          targetType: 'user',
          targetId: userId,
          details: { before, after },
        });
        if ('role' in before || 'status' in before || 'tier' in before)
          tx.afterCommit(() => this.principals.publish({ kind: 'user', id: userId }));
        return tx.manager.findOneByOrFail(UserEntity, { id: userId });
      }),
    );
    return mapUser(updated);
  }

  async remove(actor: Principal, userId: string, hard: boolean): Promise<void> {
    if (userId === actor.userId) throw AppError.conflict('You cannot delete your own account');
    await this.uow.run(async (tx) => {
      const user = await this.findVisible(userId, tx, hard);
      if (hard) await tx.manager.delete(UserEntity, { id: userId });
      else await tx.manager.update(UserEntity, { id: userId }, { deletedAt: new Date() });
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: hard ? 'user.hard_deleted' : 'user.deleted',
        targetType: 'user',
        targetId: userId,
        details: { username: user.username, email: user.email, hard },
      });
      tx.afterCommit(() => this.principals.publish({ kind: 'user', id: userId }));
    });
  }

  async changePassword(actor: Principal, dto: ChangePasswordDto): Promise<void> {
    const user = await this.users.findOne({
      where: { id: actor.userId },
      select: { id: true, passwordHash: true },
    });
    if (!user || !(await this.hasher.verify(user.passwordHash, dto.currentPassword))) {
      throw AppError.validation([
        { field: 'currentPassword', message: 'current password is incorrect', code: 'invalid_credentials' },
      ]);
    }
    if (dto.currentPassword === dto.newPassword) {
      throw AppError.validation([
        { field: 'newPassword', message: 'new password must differ from the current one', code: 'unchanged' },
      ]);
    }
    const passwordHash = await this.hasher.hash(dto.newPassword);
    await this.uow.run(async (tx) => {
      // Every token issued before now (other sessions, stolen refresh tokens) stops working.
      await tx.manager.update(
        UserEntity,
        { id: actor.userId },
        { passwordHash, tokensValidAfter: new Date() },
      );
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'user.password_changed',
        targetType: 'user',
        targetId: actor.userId,
      });
      tx.afterCommit(() => this.principals.publish({ kind: 'user', id: actor.userId }));
    });
  }

  async verifyEmail(token: string): Promise<UserDto> {
    const user = await this.users
      .createQueryBuilder('u')
      .where('u.verification_token_hash = :hash', { hash: sha256(token) })
      .andWhere('u.deleted_at IS NULL')
      .getOne();
    if (!user || !user.verificationExpiresAt || user.verificationExpiresAt < new Date()) {
      throw AppError.validation([
        { field: 'token', message: 'verification token is invalid or has expired', code: 'invalid_token' },
      ]);
    }
    const saved = await this.uow.run(async (tx) => {
      const status = user.status === UserStatus.PendingVerification ? UserStatus.Active : user.status;
      await tx.manager.update(
        UserEntity,
        { id: user.id },
        { status, emailVerifiedAt: new Date(), verificationTokenHash: null, verificationExpiresAt: null },
      );
      await this.audit.record(tx, {
        actorId: user.id,
        action: 'user.email_verified',
        targetType: 'user',
        targetId: user.id,
      });
      tx.afterCommit(() => this.principals.publish({ kind: 'user', id: user.id }));
      return tx.manager.findOneByOrFail(UserEntity, { id: user.id });
    });
    return mapUser(saved);
  }

  async resendVerification(actor: Principal, userId: string): Promise<{ verificationEmailSent: boolean }> {
    await this.uow.run(async (tx) => {
      const user = await this.findVisible(userId, tx);
      if (user.emailVerifiedAt) throw AppError.conflict('This e-mail address is already verified');
      const token = newSecret(24);
      await tx.manager.update(
        UserEntity,
        { id: userId },
        {
          verificationTokenHash: sha256(token),
          verificationExpiresAt: new Date(Date.now() + this.config.auth.emailVerificationTtlHours * 3600_000),
        },
      );
      await this.sendVerification(tx, user, token);
      await this.audit.record(tx, {
        actorId: actor.userId,
        action: 'user.verification_resent',
        targetType: 'user',
        targetId: userId,
      });
    });
    return { verificationEmailSent: this.mail.canSend };
  }

  // ---- for authentication ------------------------------------------------------------------

  /** The user with their password hash, by username or e-mail (case-insensitive). */
  async findForLogin(login: string): Promise<UserEntity | null> {
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
    return u
      ? {
          id: u.id,
          username: u.username,
          role: u.role,
          status: u.status,
          tier: u.tier,
          deleted: u.deletedAt !== null,
          tokensValidAfter: u.tokensValidAfter,
        }
      : null;
  }

  async recordLogin(userId: string): Promise<void> {
    await this.users.update({ id: userId }, { lastLoginAt: new Date() });
  }

  /** Creates an active user with no verification step (the bootstrap admin). */
  async createActive(
    tx: Tx,
    input: { username: string; email: string; fullName: string; role: Role; password: string },
  ): Promise<UserEntity> {
    const user = this.users.create({
      id: newId('user'),
      username: input.username,
      email: input.email,
      fullName: input.fullName,
      role: input.role,
      status: UserStatus.Active,
      tier: Tier.Enterprise,
      passwordHash: await this.hasher.hash(input.password),
      emailVerifiedAt: new Date(),
      avatar: null,
      department: null,
      lastLoginAt: null,
      tokensValidAfter: null,
      deletedAt: null,
    });
    await tx.manager.insert(UserEntity, user);
    await this.audit.record(tx, {
      actorId: null,
      action: 'user.bootstrapped',
      targetType: 'user',
      targetId: user.id,
      details: { role: input.role },
    });
    return user;
  }

  async count(tx?: Tx): Promise<number> {
    return (tx?.manager.getRepository(UserEntity) ?? this.users).count();
  }

  // ---- helpers --------------------------------------------------------------------------------

  private async findVisible(userId: string, tx?: Tx, includeDeleted = false): Promise<UserEntity> {
    const repo = tx?.manager.getRepository(UserEntity) ?? this.users;
    const user = await repo.findOneBy({ id: userId });
    if (!user || (user.deletedAt && !includeDeleted)) throw AppError.notFound('user', userId);
    return user;
  }

  private async sendVerification(tx: Tx, user: UserEntity, token: string): Promise<void> {
    await this.mail.queue(tx, {
      to: user.email,
      purpose: 'email-verification',
      subject: 'Verify your OpenClaw CoCode e-mail address',
      text: [
        `Hello ${user.fullName},`,
        '',
        'An account was created for you on OpenClaw CoCode. Confirm this address with:',
        '',
        `  curl -X POST ${this.config.http.publicBaseUrl}/v2/users/verify-email -H 'Content-Type: application/json' -d '{"token":"${token}"}'`,
        '',
        `Verification token: ${token}`,
        `It expires in ${this.config.auth.emailVerificationTtlHours} hours.`,
      ].join('\n'),
    });
  }

  /** Turns a unique-index violation into 409 CONFLICT naming the field. */
  private async uniquely<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const constraint = uniqueViolation(err);
      if (constraint !== null) {
        const field = constraint.includes('email')
          ? 'email'
          : constraint.includes('username')
            ? 'username'
            : 'unknown';
        throw AppError.conflict(`A user with this ${field} already exists`, { field });
      }
      throw err;
    }
  }
}
