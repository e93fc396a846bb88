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

/** A policy's six arguments (limits, windows, cost, cap): the same for every request of a tier. */
export function policyWire(args: readonly string[], cost: '0' | '1'): string {
  const [minute, minuteWindowMs, hour, hourWindowMs, cap] = args;
  return bulk(minute) + bulk(minuteWindowMs) + bulk(hour) + bulk(hourWindowMs) + bulk(cost) + bulk(cap);
}

/** ARGV 1-2: the slot lifetime and the clock (empty: Redis's). */
export function headWire(slotLifetimeMs: string): string {
  return `${bulk(slotLifetimeMs)}$0\r\n\r\n`;
}

/** What one batch sends, already in wire form: its policies, its decisions and the slots it frees. */
export interface TurnWire {
  decisions: number;
  /** The deciding callers' keys, and each decision's policy number and slot. */
  keys: string;
  args: string;
  /** The policies the decisions name, in order, each as policyWire(); a policy wire -> its number. */
  policies: string;
  policyNumbers: Map<string, string>;
  releases: number;
  /** The keys whose slots are freed, and those slots. */
  releaseKeys: string;
  releaseSlots: string;
}

/** The decision's policy number in this batch (its wire form), adding the policy on first use. */
export function policyNumber(turn: TurnWire, policy: string): string {
  let number = turn.policyNumbers.get(policy);
  if (number === undefined) {
    number = bulk(String(turn.policyNumbers.size + 1));
    turn.policyNumbers.set(policy, number);
    turn.policies += policy;
  }
  return number;
}

/** The whole command. */
export function turnWire(turn: TurnWire, head: string): string {
  const policyCount = turn.policyNumbers.size;
  return (
    `*${7 + 3 * turn.decisions + 2 * turn.releases + 6 * policyCount}\r\n` +
    `$7\r\nEVALSHA\r\n$40\r\n${RATE_LIMIT_SHA}\r\n` +
    bulk(String(turn.decisions + turn.releases)) +
    turn.keys +
    turn.releaseKeys +
    head +
    bulk(String(turn.decisions)) +
    bulk(String(policyCount)) +
    turn.policies +
    turn.args +
    turn.releaseSlots
  );
}
