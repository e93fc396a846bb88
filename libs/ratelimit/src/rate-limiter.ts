import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig, AppError, MetricsService, redisOptionsFromUrl } from '@app/core';
import Redis from 'ioredis';
import { Counter } from 'prom-client';
import { mapRateLimitStatus, RateLimitStatusDto } from './rate-limit.dto';
import {
  bulk,
  headWire,
  policyNumber,
  policyWire,
  RateLimitCommand,
  TurnWire,
  turnWire,
} from './rate-limit-command';
import { outcomeOf, RateLimitOutcome } from './rate-limit-outcome';
import { RateLimitPolicies, RateLimitPolicy } from './rate-limit-policy';
import { RATE_LIMIT_LUA, RateLimitReplies } from './rate-limit-script';

/** At most one warning per this interval while Redis is away, however many requests pass unlimited. */
const WARN_INTERVAL_MS = 30_000;
/** Decisions and releases per command at most (a turn has more only under extreme load). */
const TURN_LIMIT = 500;
/** Callers whose key and its wire form are kept; past this many the cache starts afresh. */
const CALLER_CACHE_LIMIT = 10_000;

type StoreOperation = 'acquire' | 'peek' | 'release';

const EMPTY_BULK = bulk('');

const isNoScript = (err: unknown) => (err as Error)?.message?.startsWith('NOSCRIPT') === true;

/** What one event-loop turn sends to Redis in one EVALSHA: its decisions and the slots it frees. */
interface Turn extends TurnWire {
  acquires: number;
  peeks: number;
  /** The script's answers to the decisions, in order; null when Redis did not answer. */
  answers: Promise<RateLimitReplies | null>;
  settle(replies: RateLimitReplies | null): void;
}

/**
 * The limiter's side of Redis. Each request costs one round trip: its decision joins the other
 * decisions of the same event-loop turn, and the slots the turn frees (releases are not awaited),
 * in one EVALSHA of the preloaded script (loaded on every connect, and again should Redis have
 * lost it): one command and one write per turn rather than per request.
 *
 * It has its own connection rather than RedisService's shared one, because it fails differently:
 * no offline queue and no retries, so that with Redis away a request is let through at once (fail
 * open) instead of waiting for a reconnect, and a stall watchdog instead of ioredis's per-command
 * timer: when Redis has not answered for RATE_LIMIT_REDIS_TIMEOUT_MS while requests wait, the
 * connection is dropped, which fails them open and reconnects. Failures are counted in
 * rate_limit_store_failures_total and logged at most every 30 s.
 */
@Injectable()
export class RateLimiter implements OnModuleInit, OnApplicationShutdown {
  readonly enabled: boolean;
  readonly policies: RateLimitPolicies;
  private readonly logger = new Logger(RateLimiter.name);
  private redis: Redis | null = null;
  /** REDIS_PREFIX, put on the keys here rather than by ioredis (which would parse every command for them). */
  private readonly prefix: string;
  private readonly slotLifetime: string;
  /** The command's parts that never change: per policy (spend, look) and the head. */
  private readonly policyWires = new WeakMap<RateLimitPolicy, [spend: string, look: string]>();
  private readonly headWire: string;
  private turn: Turn | null = null;
  /** Per bucket: its Redis key (with the prefix) and that key as a RESP bulk string, made once. */
  private readonly callers = new Map<string, { key: string; wire: string }>();
  /** Slot members are unique across gateways and restarts (request ids are not: clients may send them). */
  private readonly slotPrefix = `${randomBytes(6).toString('base64url')}.`;
  private slotSeq = 0;
  private readonly failures: Record<StoreOperation, { inc(n?: number): void }>;
  private readonly refusals: Counter<'scope' | 'limit'>;
  private lastWarnAt = Number.NEGATIVE_INFINITY;
  private unreported = 0;
  private flushScheduled = false;
  /** Commands sent to Redis and answered (or failed) so far, for the stall watchdog. */
  private sent = 0;
  private answers = 0;
  private watchdog: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.enabled = config.rateLimit.enabled;
    this.policies = new RateLimitPolicies(config.rateLimit);
    this.slotLifetime = String(config.rateLimit.inFlightTtlSeconds * 1000);
    this.headWire = headWire(this.slotLifetime);
    this.prefix = `${config.redis.prefix}:`;
    const failures = new Counter({
      name: 'rate_limit_store_failures_total',
      help: 'Rate-limit calls to Redis that failed; for acquire and peek the request passed unlimited (fail open)',
      labelNames: ['operation'] as const,
      registers: [metrics.registry],
    });
    this.failures = {
      acquire: failures.labels('acquire'),
      peek: failures.labels('peek'),
      release: failures.labels('release'),
    };
    this.refusals = new Counter({
      name: 'rate_limit_refusals_total',
      help: 'Requests refused with 429 by scope (user, ip) and limit (minute, hour, concurrency)',
      labelNames: ['scope', 'limit'] as const,
      registers: [metrics.registry],
    });
  }

  async onModuleInit(): Promise<void> {
    if (!this.enabled) return;
    const redis = new Redis({
      ...redisOptionsFromUrl(this.config.redis.url),
      connectionName: 'cocode-ratelimit',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
    });
    this.redis = redis;
    redis.on('error', (err: Error) =>
      this.warn(`rate-limit store connection: ${err.message}; requests pass unlimited while it is down`),
    );
    redis.on('ready', () => {
      redis
        .script('LOAD', RATE_LIMIT_LUA)
        .catch((err: Error) => this.warn(`loading the script: ${err.message}`));
    });
    this.startWatchdog(redis, this.config.rateLimit.redisTimeoutMs);
    // Serve limited from the first request when Redis is there; start anyway (fail open) when not.
    await Promise.race([once(redis, 'ready'), new Promise((r) => setTimeout(r, 2000).unref())]).catch(
      () => undefined,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    this.flush();
    await this.redis?.quit().catch(() => this.redis?.disconnect());
  }

  /**
   * Spends a token from both buckets of `bucket` and takes an in-flight slot (unless `takeSlot` is
   * false), or refuses and spends nothing. null: Redis did not answer, let the request through.
   */
  async acquire(bucket: string, policy: RateLimitPolicy, takeSlot = true): Promise<RateLimitOutcome | null> {
    if (!this.redis) return null;
    const caller = this.callerOf(bucket);
    let slot = '';
    let slotWire = EMPTY_BULK;
    if (takeSlot) {
      slot = this.slotPrefix + (this.slotSeq++).toString(36);
      slotWire = `$${slot.length}\r\n${slot}\r\n`; // slots are ASCII
    }
    const turn = this.decide(caller.wire, policy, true, slotWire);
    const index = turn.decisions - 1;
    const replies = await turn.answers;
    if (!replies) return null;
    const outcome = takeSlot
      ? outcomeOf(replies, index, policy, caller.key, slot, caller.wire, slotWire)
      : outcomeOf(replies, index, policy, null, null);
    if (outcome.refusedBy) this.refusals.labels(policy.scope, outcome.refusedBy).inc();
    return outcome;
  }

  /** The buckets and requests in flight as they are, spending nothing. null: Redis did not answer. */
  async peek(bucket: string, policy: RateLimitPolicy): Promise<RateLimitOutcome | null> {
    if (!this.redis) return null;
    const turn = this.decide(this.callerOf(bucket).wire, policy, false, EMPTY_BULK);
    const index = turn.decisions - 1;
    const replies = await turn.answers;
    return replies && outcomeOf(replies, index, policy, null, null);
  }

  /**
   * Frees an in-flight slot, not awaited: it leaves with this turn's decisions. A lost release
   * only expires with the slot's lifetime. The wire forms, when the caller has them (an outcome's
   * keyWire and slotWire), save making them again.
   */
  release(key: string, slot: string, keyWire = bulk(key), slotWire = bulk(slot)): void {
    if (!this.redis) return;
    const turn = this.currentTurn();
    turn.releases += 1;
    turn.releaseKeys += keyWire;
    turn.releaseSlots += slotWire;
  }

  /** GET /rate-limit: the caller's limits and, from the guard's free reading, what is left. */
  status(user: { tier: string }, reading: RateLimitOutcome | null): RateLimitStatusDto {
    if (!this.enabled) return mapRateLimitStatus(this.policies.of(user), null, false);
    if (!reading) throw AppError.unavailable('The rate-limit store did not answer; try again shortly');
    return mapRateLimitStatus(reading.policy, reading, true);
  }

  /**
   * Adds a decision to this turn (the caller's key and the slot in wire form). The turn leaves once its
   * I/O callbacks have run (setImmediate): the decisions of the requests whose sockets were
   * readable together and the releases of the responses that ended together, in one command and
   * one write, instead of a command and a system call each (on loopback each write also wakes
   * Redis up). That costs no latency: a lone command would have left in the same turn.
   */
  private decide(keyWire: string, p: RateLimitPolicy, spend: boolean, slotWire: string): Turn {
    let wires = this.policyWires.get(p);
    if (!wires) {
      wires = [policyWire(p.args, '1'), policyWire(p.args, '0')];
      this.policyWires.set(p, wires);
    }
    const turn = this.currentTurn();
    turn.decisions += 1;
    turn.keys += keyWire;
    turn.args += policyNumber(turn, spend ? wires[0] : wires[1]) + slotWire;
    if (spend) turn.acquires += 1;
    else turn.peeks += 1;
    return turn;
  }

  private callerOf(bucket: string): { key: string; wire: string } {
    let caller = this.callers.get(bucket);
    if (!caller) {
      if (this.callers.size >= CALLER_CACHE_LIMIT) this.callers.clear();
      const key = this.prefix + bucket;
      caller = { key, wire: bulk(key) };
      this.callers.set(bucket, caller);
    }
    return caller;
  }

  private currentTurn(): Turn {
    const turn = this.turn;
    if (turn && turn.decisions + turn.releases < TURN_LIMIT) return turn;
    if (turn) this.send(turn);
    let settle!: (replies: RateLimitReplies | null) => void;
    const answers = new Promise<RateLimitReplies | null>((resolve) => (settle = resolve));
    const next: Turn = {
      decisions: 0,
      keys: '',
      args: '',
      policies: '',
      policyNumbers: new Map(),
      releases: 0,
      releaseKeys: '',
      releaseSlots: '',
      acquires: 0,
      peeks: 0,
      answers,
      settle,
    };
    this.turn = next;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
    return next;
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const turn = this.turn;
    if (turn) this.send(turn);
  };

  private send(turn: Turn): void {
    if (this.turn === turn) this.turn = null;
    const redis = this.redis;
    if (!redis) return turn.settle(null);
    this.sent += 1;
    this.dispatch(redis, turn, turnWire(turn, this.headWire), true);
  }

  private dispatch(redis: Redis, turn: Turn, wire: string, mayReload: boolean): void {
    const command = new RateLimitCommand(wire);
    redis.sendCommand(command);
    command.promise.then(
      (replies) => {
        this.answers += 1;
        turn.settle(replies as RateLimitReplies);
      },
      (err: unknown) => {
        if (mayReload && isNoScript(err)) {
          // Redis lost its script cache (restart, SCRIPT FLUSH): load it again, send again.
          redis.script('LOAD', RATE_LIMIT_LUA).then(
            () => this.dispatch(redis, turn, wire, false),
            (failure: Error) => this.failed(turn, failure),
          );
          return;
        }
        this.failed(turn, err as Error);
      },
    );
  }

  private failed(turn: Turn, err: Error): void {
    this.answers += 1;
    if (turn.acquires) this.storeFailed('acquire', err, turn.acquires);
    if (turn.peeks) this.storeFailed('peek', err, turn.peeks);
    if (turn.releases) this.storeFailed('release', err, turn.releases);
    turn.settle(null);
  }

  /**
   * Drops the connection when a decision has waited timeoutMs for Redis, which fails the waiting
   * ones open (no retries) and reconnects. Cheaper than ioredis's commandTimeout (a timer per
   * command): one connection answers in order, so it is enough to know, every timeoutMs / 4, how
   * many had been sent timeoutMs ago and how many have been answered since.
   */
  private startWatchdog(redis: Redis, timeoutMs: number): void {
    const ticks = 4;
    const sentAtTick: number[] = [];
    this.watchdog = setInterval(
      () => {
        sentAtTick.push(this.sent);
        if (sentAtTick.length <= ticks) return;
        const sentBefore = sentAtTick.shift()!;
        if (this.answers >= sentBefore) return;
        sentAtTick.length = 0;
        this.warn(
          `rate-limit store did not answer within ${timeoutMs} ms: reconnecting, requests pass unlimited`,
        );
        redis.disconnect(true);
      },
      Math.max(1, Math.floor(timeoutMs / ticks)),
    );
    this.watchdog.unref();
  }

  private storeFailed(operation: StoreOperation, err: Error, count = 1): void {
    this.failures[operation].inc(count);
    this.warn(
      `rate-limit store unavailable (${operation}: ${err.message}); requests pass unlimited until it is back`,
    );
  }

  /** One line per WARN_INTERVAL_MS, saying how many were held back since the last one. */
  private warn(message: string): void {
    const now = Date.now();
    if (now - this.lastWarnAt < WARN_INTERVAL_MS) {
      this.unreported += 1;
      return;
    }
    const held = this.unreported;
    this.lastWarnAt = now;
    this.unreported = 0;
    this.logger.warn(held ? `${message} (${held} similar messages suppressed)` : message);
  }
}
