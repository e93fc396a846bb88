import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { AppError } from '../errors/app-error';

export type IdempotencyClaim =
  { kind: 'claimed' } | { kind: 'replay'; status: number; body: unknown; headers: Record<string, string> };

/** Stable JSON: key order does not change the fingerprint. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

@Injectable()
export class IdempotencyService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** Claims the key for this request, or says how to answer instead. */
  async claim(principal: string, key: string, hash: string): Promise<IdempotencyClaim> {
    const { ttlHours, lockSeconds } = this.config.idempotency;
    for (let attempt = 0; attempt < 3; attempt++) {
      const inserted: unknown[] = await this.dataSource.query(
        `INSERT INTO idempotency_keys (principal, key, request_hash, state, locked_until, expires_at)
         VALUES ($1, $2, $3, 'processing', now() + make_interval(secs => $4), now() + make_interval(hours => $5))
         ON CONFLICT (principal, key) DO NOTHING RETURNING key`,
        [principal, key, hash, lockSeconds, ttlHours],
      );
      if (inserted.length) return { kind: 'claimed' };
      const [row] = await this.dataSource.query(
        `SELECT request_hash, state, response_status, response_body, response_headers,
                locked_until < now() AS lock_expired, expires_at < now() AS expired
           FROM idempotency_keys WHERE principal = $1 AND key = $2`,
        [principal, key],
      );
      if (!row) continue; // deleted meanwhile: try to claim again
      if (row.expired) {
        await this.dataSource.query(
          `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND expires_at < now()`,
          [principal, key],
        );
        continue;
      }
      if (row.request_hash !== hash) {
        throw AppError.validation(
          [
            {
              field: 'Idempotency-Key',
              message: 'This key was already used with a different request body',
              code: 'idempotency_mismatch',
            },
          ],
          'Idempotency-Key reused with a different request',
        );
      }
      if (row.state === 'completed') {
        return {
          kind: 'replay',
          status: row.response_status,
          body: row.response_body,
          headers: row.response_headers ?? {},
        };
      }
      if (!row.lock_expired) {
        throw AppError.conflict('A request with this Idempotency-Key is still being processed', {
          idempotencyKey: key,
        });
      }
      // The first attempt died (crash) without finishing: take the key over.
      // (TypeORM answers UPDATE with [rows, rowCount].)
      const [taken]: [unknown[], number] = await this.dataSource.query(
        `UPDATE idempotency_keys SET locked_until = now() + make_interval(secs => $3)
          WHERE principal = $1 AND key = $2 AND state = 'processing' AND locked_until < now() RETURNING key`,
        [principal, key, lockSeconds],
      );
      if (taken.length) return { kind: 'claimed' };
    }
    throw AppError.conflict('A request with this Idempotency-Key is still being processed', {
      idempotencyKey: key,
    });
  }

  async complete(
    principal: string,
    key: string,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<void> {
    await this.dataSource.query(
      `UPDATE idempotency_keys SET state = 'completed', response_status = $3, response_body = $4, response_headers = $5
        WHERE principal = $1 AND key = $2`,
      [principal, key, status, JSON.stringify(body ?? null), JSON.stringify(headers)],
    );
  }

  /** A failed request frees its key so the client can retry with it. */
  async release(principal: string, key: string): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND state = 'processing'`,
      [principal, key],
    );
  }

  async purgeExpired(): Promise<number> {
    const result = await this.dataSource.query(`DELETE FROM idempotency_keys WHERE expires_at < now()`);
    return Array.isArray(result) ? Number(result[1] ?? 0) : 0;
  }
}
