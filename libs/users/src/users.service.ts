import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  newId,
  newSecret,
  Page,
  pageOf,
  Permission,
  Principal,
  PrincipalEvents,
  Role,
  Tx,
  UnitOfWork,
  uniqueViolation,
} from '@app/core';
import { MailService } from '@app/mail';
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
import { UserAuthState, UsersRepository } from './users.repository';

export type { UserAuthState } from './users.repository';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
/** What a user may change on their own account without users:admin. */
const SELF_EDITABLE = new Set<keyof UpdateUserDto>(['fullName', 'department', 'avatar']);

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditLogService,
    private readonly mail: MailService,
    private readonly hasher: PasswordHasher,
    private readonly principals: PrincipalEvents,
    private readonly config: AppConfig,
  ) {}

  async list(query: ListUsersQueryDto): Promise<Page<UserDto>> {
    const [rows, total] = await this.users.list(query);
    return pageOf(rows.map(mapUser), total, query);
  }

  /** The hot read (see UsersRepository.findActive). */
  async get(userId: string): Promise<UserDto> {
    const row = await this.users.findActive(userId);
    if (!row) throw AppError.notFound('user', userId);
    return mapUser(row);
  }

  async create(actor: Principal, dto: CreateUserDto): Promise<CreatedUserDto> {
    const verificationToken = newSecret(24);
    const passwordHash = await this.hasher.hash(dto.password);
    const user = this.users.build({
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
        await this.users.insert(tx.manager, user);
        await this.sendVerification(tx, user, verificationToken);
        await this.audit.record(tx, {
          actorId: actor.userId,
          action: 'user.created',
          targetType: 'user',
          targetId: user.id,
          details: { username: user.username, role: user.role },
        });
        return this.users.findByIdOrFail(tx.manager, user.id);
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
        await this.users.update(tx.manager, userId, changes);
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
        return this.users.findByIdOrFail(tx.manager, userId);
      }),
    );
    return mapUser(updated);
  }

  async remove(actor: Principal, userId: string, hard: boolean): Promise<void> {
    if (userId === actor.userId) throw AppError.conflict('You cannot delete your own account');
    await this.uow.run(async (tx) => {
      const user = await this.findVisible(userId, tx, hard);
      if (hard) await this.users.delete(tx.manager, userId);
      else await this.users.update(tx.manager, userId, { deletedAt: new Date() });
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
    const user = await this.users.findPasswordHash(actor.userId);
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
      await this.users.update(tx.manager, actor.userId, { passwordHash, tokensValidAfter: new Date() });
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
    const user = await this.users.findByVerificationHash(sha256(token));
    if (!user || !user.verificationExpiresAt || user.verificationExpiresAt < new Date()) {
      throw AppError.validation([
        { field: 'token', message: 'verification token is invalid or has expired', code: 'invalid_token' },
      ]);
    }
    const saved = await this.uow.run(async (tx) => {
      const status = user.status === UserStatus.PendingVerification ? UserStatus.Active : user.status;
      await this.users.update(tx.manager, user.id, {
        status,
        emailVerifiedAt: new Date(),
        verificationTokenHash: null,
        verificationExpiresAt: null,
      });
      await this.audit.record(tx, {
        actorId: user.id,
        action: 'user.email_verified',
        targetType: 'user',
        targetId: user.id,
      });
      tx.afterCommit(() => this.principals.publish({ kind: 'user', id: user.id }));
      return this.users.findByIdOrFail(tx.manager, user.id);
    });
    return mapUser(saved);
  }

  async resendVerification(actor: Principal, userId: string): Promise<{ verificationEmailSent: boolean }> {
    await this.uow.run(async (tx) => {
      const user = await this.findVisible(userId, tx);
      if (user.emailVerifiedAt) throw AppError.conflict('This e-mail address is already verified');
      const token = newSecret(24);
      await this.users.update(tx.manager, userId, {
        verificationTokenHash: sha256(token),
        verificationExpiresAt: new Date(Date.now() + this.config.auth.emailVerificationTtlHours * 3600_000),
      });
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
  findForLogin(login: string): Promise<UserEntity | null> {
    return this.users.findForLogin(login);
  }

  /** The principal cache's read (one statement per miss). */
  authState(userId: string): Promise<UserAuthState | null> {
    return this.users.authState(userId);
  }

  recordLogin(userId: string): Promise<void> {
    return this.users.recordLogin(userId);
  }

  /** Creates an active user with no verification step (the bootstrap admin). */
  async createActive(
    tx: Tx,
    input: { username: string; email: string; fullName: string; role: Role; password: string },
  ): Promise<UserEntity> {
    const user = this.users.build({
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
    await this.users.insert(tx.manager, user);
    await this.audit.record(tx, {
      actorId: null,
      action: 'user.bootstrapped',
      targetType: 'user',
      targetId: user.id,
      details: { role: input.role },
    });
    return user;
  }

  count(tx?: Tx): Promise<number> {
    return this.users.count(tx?.manager);
  }

  /** The first administrator ever created (the bootstrap admin, unless deleted), or null. */
  firstAdmin(tx: Tx): Promise<UserEntity | null> {
    return this.users.firstAdmin(tx.manager);
  }

  /** Of these ids, those of users that exist and are not deleted. */
  existingIds(ids: string[], tx?: Tx): Promise<Set<string>> {
    return this.users.existingIds(ids, tx?.manager);
  }

  // ---- helpers --------------------------------------------------------------------------------

  private async findVisible(userId: string, tx?: Tx, includeDeleted = false): Promise<UserEntity> {
    const user = await this.users.findById(userId, tx?.manager);
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
