import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AppError } from '../errors/app-error';
import { IdempotencyRepository } from './idempotency.repository';

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
    private readonly keys: IdempotencyRepository,
    private readonly config: AppConfig,
  ) {}

  /** Claims the key for this request, or says how to answer instead. */
  async claim(principal: string, key: string, hash: string): Promise<IdempotencyClaim> {
    const { ttlHours, lockSeconds } = this.config.idempotency;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.keys.insertClaim(principal, key, hash, lockSeconds, ttlHours))
        return { kind: 'claimed' };
      const row = await this.keys.find(principal, key);
      if (!row) continue; // deleted meanwhile: try to claim again
      if (row.expired) {
        await this.keys.deleteIfExpired(principal, key);
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
      if (await this.keys.takeOver(principal, key, lockSeconds)) return { kind: 'claimed' };
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
    await this.keys.complete(principal, key, status, body, headers);
  }

  /** A failed request frees its key so the client can retry with it. */
  async release(principal: string, key: string): Promise<void> {
    await this.keys.release(principal, key);
  }

  purgeExpired(): Promise<number> {
    return this.keys.purgeExpired();
  }
}
