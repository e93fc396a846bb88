import { Algorithm, hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig, AppError } from '@app/core';

// OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane (~5 ms here).
export const PASSWORD_HASH_OPTIONS = {
  algorithm: Algorithm.Argon2id,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
};

/**
 * argon2id with a cap on hashes in flight: a flood of logins queues (bounded) instead of
 * eating every core; past the queue it answers 503 with Retry-After.
 */
@Injectable()
export class PasswordHasher {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly maxActive: number;
  private readonly maxWaiting: number;
  /** A hash of a random password, verified against for unknown users so timing tells nothing. */
  private dummyHash: Promise<string> | null = null;

  constructor(config: AppConfig) {
    this.maxActive = config.auth.maxConcurrentHashes;
    this.maxWaiting = config.auth.maxConcurrentHashes * 16;
  }

  hash(password: string): Promise<string> {
    return this.limited(() => hash(password, PASSWORD_HASH_OPTIONS));
  }

  /** Verifies against the stored hash, or a dummy one when there is no user. */
  verify(storedHash: string | null, password: string): Promise<boolean> {
    this.dummyHash ??= hash(randomBytes(16).toString('hex'), PASSWORD_HASH_OPTIONS);
    return this.limited(async () => {
      try {
        return (await verify(storedHash ?? (await this.dummyHash)!, password)) && storedHash !== null;
      } catch {
        return false;
      }
    });
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxActive) {
      if (this.waiting.length >= this.maxWaiting)
        throw AppError.unavailable('Too many sign-ins in progress; retry shortly', 1);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export const PASSWORD_RULE = /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{8,128}$/;
export const PASSWORD_RULE_MESSAGE =
  'password must be at least 8 characters and contain upper-case, lower-case letters and a digit';
