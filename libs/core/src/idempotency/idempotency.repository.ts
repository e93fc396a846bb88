import { Injectable } from '@nestjs/common';
import { Sql } from '../database/sql';

/** A key's row as a second request sees it. */
export interface IdempotencyKeyRow {
  request_hash: string;
  state: 'processing' | 'completed';
  response_status: number;
  response_body: unknown;
  response_headers: Record<string, string> | null;
  lock_expired: boolean;
  expired: boolean;
}

/** The idempotency_keys table. Every statement runs straight on the pool (the request's hot path). */
@Injectable()
export class IdempotencyRepository {
  constructor(private readonly sql: Sql) {}

  /** True when the key was free and is now this request's, locked for `lockSeconds`. */
  async insertClaim(
    principal: string,
    key: string,
    hash: string,
    lockSeconds: number,
    ttlHours: number,
  ): Promise<boolean> {
    const inserted = await this.sql.rows(
      `INSERT INTO idempotency_keys (principal, key, request_hash, state, locked_until, expires_at)
         VALUES ($1, $2, $3, 'processing', now() + make_interval(secs => $4), now() + make_interval(hours => $5))
         ON CONFLICT (principal, key) DO NOTHING RETURNING key`,
      [principal, key, hash, lockSeconds, ttlHours],
    );
    return inserted.length > 0;
  }

  find(principal: string, key: string): Promise<IdempotencyKeyRow | undefined> {
    return this.sql.one<IdempotencyKeyRow>(
      `SELECT request_hash, state, response_status, response_body, response_headers,
                locked_until < now() AS lock_expired, expires_at < now() AS expired
           FROM idempotency_keys WHERE principal = $1 AND key = $2`,
      [principal, key],
    );
  }

  async deleteIfExpired(principal: string, key: string): Promise<void> {
    await this.sql.exec(
      `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND expires_at < now()`,
      [principal, key],
    );
  }

  /** Takes over a key whose first request died without finishing; true when taken. */
  async takeOver(principal: string, key: string, lockSeconds: number): Promise<boolean> {
    const taken = await this.sql.rows(
      `UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $3)
          WHERE principal = $1 AND key = $2 AND state = 'processing' AND locked_until < now() RETURNING key`,
      [principal, key, lockSeconds],
    );
    return taken.length > 0;
  }

  async complete(
    principal: string,
    key: string,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<void> {
    await this.sql.exec(
      `UPDATE idempotency_keys SET state = 'completed', response_status = $3, response_body = $4, response_headers = $5
        WHERE principal = $1 AND key = $2`,
      [principal, key, status, JSON.stringify(body ?? null), JSON.stringify(headers)],
    );
  }

  async release(principal: string, key: string): Promise<void> {
    await this.sql.exec(
      `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND state = 'processing'`,
      [principal, key],
    );
  }

  /** Deletes the expired keys; how many. */
  purgeExpired(): Promise<number> {
    return this.sql.exec(`DELETE FROM idempotency_keys WHERE expires_at < now()`);
  }
}
