import { Command } from 'ioredis';
import { RATE_LIMIT_SHA } from './rate-limit-script';

/** One RESP bulk string. */
export const bulk = (s: string): string => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;

/**
 * An EVALSHA of the rate-limit script written as one prepared string. Through redis.evalsha(),
 * ioredis would flatten and stringify every argument anew, though most of them are the policies',
 * the same for every request of a tier: that was half of the limiter's cost in the gateway. A
 * Command whose toWritable() is its own is how ioredis's own Script command works; replies,
 * errors, ordering and reconnects stay ioredis's.
 */
export class RateLimitCommand extends Command {
  constructor(private readonly wire: string) {
    super('evalsha', []);
  }

  override toWritable(): string {
    return this.wire;
  }
}

/** A decision's ARGV but its slot (limits, windows, cost, cap): the same for every request of a policy. */
export function policyWire(args: readonly string[], cost: '0' | '1'): string {
  const [minute, minuteWindowMs, hour, hourWindowMs, cap] = args;
  return bulk(minute) + bulk(minuteWindowMs) + bulk(hour) + bulk(hourWindowMs) + bulk(cost) + bulk(cap);
}

/** ARGV 1-2: the slot lifetime and the clock (empty: Redis's). */
export function headWire(slotLifetimeMs: string): string {
  return `${bulk(slotLifetimeMs)}$0\r\n\r\n`;
}

/** The whole command for `count` decisions: their keys and their arguments, already in wire form. */
export function batchWire(count: number, keys: string, head: string, args: string): string {
  return `*${5 + count * 8}\r\n$7\r\nEVALSHA\r\n$40\r\n${RATE_LIMIT_SHA}\r\n${bulk(String(count))}${keys}${head}${args}`;
}
