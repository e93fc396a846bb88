import { Injectable, Logger } from '@nestjs/common';
import {
  AppConfig,
  AppError,
  ErrorCode,
  flattenValidationErrors,
  iso,
  maxScopesFor,
  newId,
  newSecret,
  Principal,
  Role,
  ROLE_PERMISSIONS,
  Scope,
  Tx,
  UnitOfWork,
} from '@app/core';
import { AuditLogService, PasswordHasher, UserAuthState, UsersService, UserStatus } from '@app/users';
import { validate } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { sign, verify } from 'jsonwebtoken';
import { ApiClientsService, sha256 } from './api-clients.service';
import { GRANT_TYPES, MeDto, RevokeRequestDto, TokenRequestDto, TokenResponseDto } from './auth.dto';
import { JwtKeys } from './jwt-keys';
import { LoginThrottle } from './login-throttle';
import { PrincipalCache } from './principal-cache';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { AccessTokenClaims } from './token-claims';

type OAuthError =
  'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope';

/** RFC 6749 5.2 errors in the seed's envelope; invalid_client is 401, the rest 400. */
function oauthError(error: OAuthError, message: string): AppError {
  if (error === 'invalid_client') {
    return new AppError(
      ErrorCode.Unauthorized,
      message,
      { oauthError: error },
      { 'WWW-Authenticate': 'Basic realm="cocode", charset="UTF-8"' },
    );
  }
  return new AppError(ErrorCode.InvalidRequest, message, { oauthError: error });
}

interface Subject {
  id: string;
  role: Role;
}

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    private readonly uow: UnitOfWork,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly users: UsersService,
    private readonly clients: ApiClientsService,
    private readonly hasher: PasswordHasher,
    private readonly throttle: LoginThrottle,
    private readonly cache: PrincipalCache,
    private readonly audit: AuditLogService,
    private readonly keys: JwtKeys,
    private readonly config: AppConfig,
  ) {}

  /** POST /auth/token. The body is validated here: OAuth says unknown parameters are ignored. */
  async token(body: unknown, ip = ''): Promise<TokenResponseDto> {
    const dto = plainToInstance(TokenRequestDto, body ?? {});
    const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: false });
    if (errors.length) {
      throw new AppError(ErrorCode.ValidationError, 'Token request validation failed', {
        fields: flattenValidationErrors(errors),
        oauthError: 'invalid_request',
      });
    }
    if (!(GRANT_TYPES as readonly string[]).includes(dto.grant_type)) {
      throw oauthError('unsupported_grant_type', `grant_type must be one of ${GRANT_TYPES.join(', ')}`);
    }
    const client = await this.clients.authenticate(dto.client_id, dto.client_secret);
    if (!client) throw oauthError('invalid_client', 'Client authentication failed');
    const clientScopes = client.scopes.split(' ') as Scope[];

    if (dto.grant_type === 'client_credentials') {
      const owner = await this.users.authState(client.ownerId);
      if (!owner || owner.deleted || owner.status !== UserStatus.Active) {
        throw oauthError('invalid_grant', "The client's owner is not an active user");
      }
      const scopes = this.grantedScopes(dto.scope, owner.role, clientScopes);
      return this.issue({ id: owner.id, role: owner.role }, scopes, client.id, newId('refreshToken'));
    }

    if (!dto.username || !dto.password) {
      throw new AppError(
        ErrorCode.ValidationError,
        'username and password are required for the password grant',
        {
          fields: [
            ...(dto.username
              ? []
              : [{ field: 'username', message: 'username is required', code: 'required' }]),
            ...(dto.password
              ? []
              : [{ field: 'password', message: 'password is required', code: 'required' }]),
          ],
          oauthError: 'invalid_request',
        },
      );
    }
    const user = await this.users.findForLogin(dto.username);
    // Counted per account (username and e-mail alike) and per IP: see LoginThrottle.
    const source = { account: LoginThrottle.accountOf(user?.id, dto.username), ip };
    await this.throttle.assertAllowed(source);
    const ok = await this.hasher.verify(user?.passwordHash ?? null, dto.password);
    if (!user || !ok) {
      await this.throttle.recordFailure(source);
      throw oauthError('invalid_grant', 'Invalid username or password');
    }
    await this.throttle.reset(source);
    if (user.status === UserStatus.PendingVerification) {
      throw oauthError('invalid_grant', 'The e-mail address of this account is not verified yet');
    }
    if (user.status !== UserStatus.Active)
      throw oauthError('invalid_grant', `This account is ${user.status}`);
    const scopes = this.grantedScopes(dto.scope, user.role, clientScopes, false);
    await this.users.recordLogin(user.id);
    return this.issue({ id: user.id, role: user.role }, scopes, client.id, newId('refreshToken'));
  }

  /** POST /auth/refresh: rotation with reuse detection. */
  async refresh(refreshToken: string): Promise<TokenResponseDto> {
    const hash = sha256(refreshToken);
    const outcome = await this.uow.run(async (tx) => {
      const row = await this.refreshTokens.findByHash(tx.manager, hash);
      if (!row || row.revokedAt) return { error: 'Refresh token is invalid or has been revoked' } as const;
      // Atomically claim the token: of two concurrent refreshes with one token, one wins.
      if (!(await this.refreshTokens.claim(tx.manager, row.id))) {
        await this.refreshTokens.revokeFamily(tx.manager, row.familyId);
        return { reused: row } as const;
      }
      if (row.expiresAt < new Date()) return { error: 'Refresh token has expired' } as const;
      const user = await this.users.authState(row.userId);
      const problem = this.userProblem(user, row.createdAt);
      if (problem) return { error: problem } as const;
      if (row.clientId && !(await this.clients.exists(row.clientId)))
        return { error: 'The API client of this token no longer exists' } as const;
      const scopes = (row.scope.split(' ') as Scope[]).filter((s) => maxScopesFor(user!.role).includes(s));
      return {
        next: await this.issueWith(
          tx,
          { id: user!.id, role: user!.role },
          scopes,
          row.clientId,
          row.familyId,
        ),
      } as const;
    });
    if ('reused' in outcome && outcome.reused) {
      await this.revokeSessionEverywhere(outcome.reused.familyId);
      this.logger.warn({
        msg: 'refresh token reuse detected; family revoked',
        userId: outcome.reused.userId,
        familyId: outcome.reused.familyId,
      });
      await this.uow.run((tx) =>
        this.audit.record(tx, {
          actorId: outcome.reused.userId,
          action: 'auth.refresh_token_reused',
          targetType: 'user',
          targetId: outcome.reused.userId,
          details: { familyId: outcome.reused.familyId },
        }),
      );
      throw oauthError(
        'invalid_grant',
        'Refresh token was already used; every token of this sign-in has been revoked',
      );
    }
    if ('error' in outcome && outcome.error) throw oauthError('invalid_grant', outcome.error);
    return (outcome as { next: TokenResponseDto }).next;
  }

  /** POST /auth/revoke (RFC 7009): always 200, whatever the token was. */
  async revoke(dto: RevokeRequestDto): Promise<void> {
    const looksLikeJwt = dto.token.split('.').length === 3;
    if (looksLikeJwt && dto.token_type_hint !== 'refresh_token') {
      let claims: AccessTokenClaims;
      try {
        claims = verify(dto.token, this.keys.verifyKey, {
          algorithms: [this.keys.algorithm],
          issuer: this.config.jwt.issuer,
          audience: this.config.jwt.audience,
          ignoreExpiration: true,
        }) as unknown as AccessTokenClaims;
      } catch {
        return; // not one of our tokens: nothing to revoke
      }
      if (typeof claims.exp === 'number' && claims.exp > Date.now() / 1000 && claims.jti)
        await this.cache.revokeToken(claims.jti, claims.exp);
      return;
    }
    const familyId = await this.uow.run(async (tx) => {
      const row = await this.refreshTokens.findByHash(tx.manager, sha256(dto.token));
      if (row) await this.refreshTokens.revokeFamily(tx.manager, row.familyId);
      return row?.familyId ?? null;
    });
    if (familyId) await this.revokeSessionEverywhere(familyId);
  }

  /** After the family's refresh tokens are revoked in the database: its access tokens too. */
  private async revokeSessionEverywhere(familyId: string): Promise<void> {
    try {
      await this.cache.revokeSession(familyId);
    } catch (err) {
      // This process already refuses them; others learn of it when Redis is back or at expiry.
      this.logger.error({
        msg: 'could not publish a revoked sign-in',
        familyId,
        err: (err as Error).message,
      });
    }
  }

  me(principal: Principal): MeDto {
    return {
      userId: principal.userId,
      username: principal.username,
      role: principal.role,
      scopes: [...principal.scopes],
      permissions: [...ROLE_PERMISSIONS[principal.role]].filter((p) => principal.can(p)),
      tier: principal.tier,
      clientId: principal.clientId,
      tokenId: principal.tokenId,
      expiresAt: iso(principal.expiresAt),
    };
  }

  /** Why this user may not get tokens (or null). */
  private userProblem(user: UserAuthState | null, issuedAt: Date): string | null {
    if (!user || user.deleted) return 'The user of this token no longer exists';
    if (user.status !== UserStatus.Active) return `This account is ${user.status}`;
    if (user.tokensValidAfter && issuedAt < user.tokensValidAfter)
      return 'The password was changed after this token was issued';
    return null;
  }

  /**
   * The scopes granted: what was asked for (default: everything allowed), where allowed is the
   * role's maximum, narrowed to the client's scopes for client_credentials.
   */
  private grantedScopes(
    requested: string | undefined,
    role: Role,
    clientScopes: Scope[],
    narrowToClient = true,
  ): Scope[] {
    const allowed = maxScopesFor(role).filter((s) => !narrowToClient || clientScopes.includes(s));
    if (requested === undefined || requested.trim() === '') return allowed;
    const asked = [...new Set(requested.trim().split(/\s+/))];
    const bad = asked.filter((s) => !allowed.includes(s as Scope));
    if (bad.length)
      throw oauthError(
        'invalid_scope',
        `Scope not allowed: ${bad.join(', ')} (allowed: ${allowed.join(' ')})`,
      );
    return allowed.filter((s) => asked.includes(s));
  }

  private issue(
    subject: Subject,
    scopes: Scope[],
    clientId: string | null,
    familyId: string,
  ): Promise<TokenResponseDto> {
    return this.uow.run((tx) => this.issueWith(tx, subject, scopes, clientId, familyId));
  }

  private async issueWith(
    tx: Tx,
    subject: Subject,
    scopes: Scope[],
    clientId: string | null,
    familyId: string,
  ): Promise<TokenResponseDto> {
    const now = new Date();
    const scope = scopes.join(' ');
    // sid: the sign-in, so that revoking it (reuse, POST /auth/revoke) refuses its access tokens.
    const claims: Record<string, unknown> = { role: subject.role, scope, sid: familyId };
    if (clientId) claims.cid = clientId;
    const accessToken = sign(claims, this.keys.signKey, {
      algorithm: this.keys.algorithm,
      subject: subject.id,
      issuer: this.config.jwt.issuer,
      audience: this.config.jwt.audience,
      expiresIn: this.config.jwt.accessTtlSeconds,
      jwtid: newSecret(12),
    });
    const refreshToken = newSecret(32);
    await this.refreshTokens.insert(tx.manager, {
      id: newId('refreshToken'),
      familyId,
      userId: subject.id,
      clientId,
      tokenHash: sha256(refreshToken),
      scope,
      expiresAt: new Date(now.getTime() + this.config.auth.refreshTtlDays * 86400_000),
      usedAt: null,
      revokedAt: null,
    });
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.config.jwt.accessTtlSeconds,
      refresh_token: refreshToken,
      scope,
      issued_at: iso(now),
    };
  }
}
