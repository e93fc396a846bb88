import { LookupAddress, lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Where a webhook may not point (SSRF defence): loopback, private, carrier-grade NAT, link-local
 * (which holds the cloud metadata endpoints such as 169.254.169.254), multicast, reserved and
 * documentation ranges, in IPv4 and IPv6. An IPv6 address that embeds an IPv4 address (see
 * embeddedIPv4) is judged by that IPv4 address, however it is spelt.
 */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215)
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

export class UnsafeTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeTargetError';
  }
}

/** The eight 16-bit groups of an IPv6 address (any spelling, zone id dropped), or null. */
export function ipv6Groups(address: string): number[] | null {
  let text = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(text) !== 6) return null;
  // A trailing dotted quad is two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number);
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length > 1 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : null;
}

function quadOf(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * The IPv4 addresses an IPv6 address carries, whichever way it is spelt: IPv4-compatible
 * (::/96, e.g. `::127.0.0.1` = `::7f00:1`), IPv4-mapped (::ffff:0:0/96), IPv4-translated
 * (::ffff:0:0:0/96), NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo (2001::/32, server and
 * de-obfuscated client). Empty for an address that embeds none.
 */
export function embeddedIPv4(groups: number[]): string[] {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups;
  const zeroUpTo = (n: number): boolean => groups.slice(0, n).every((g) => g === 0);
  if (zeroUpTo(6)) return [quadOf(g6, g7)]; // compatible (also :: and ::1: 0.0.0.0/8)
  if (zeroUpTo(5) && g5 === 0xffff) return [quadOf(g6, g7)]; // mapped
  if (zeroUpTo(4) && g4 === 0xffff && g5 === 0) return [quadOf(g6, g7)]; // translated
  if (g0 === 0x64 && g1 === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) return [quadOf(g6, g7)];
  if (g0 === 0x2002) return [quadOf(g1, g2)]; // 6to4
  if (g0 === 0x2001 && g1 === 0) return [quadOf(g2, g3), quadOf(g6 ^ 0xffff, g7 ^ 0xffff)]; // Teredo
  return [];
}

/** True for an address a webhook must not reach. */
export function isBlockedAddress(address: string): boolean {
  const unbracketed = address.replace(/^\[|\]$/g, '');
  const family = isIP(unbracketed);
  if (family === 4) return BLOCKED.check(unbracketed, 'ipv4');
  if (family === 6) {
    const groups = ipv6Groups(unbracketed);
    if (!groups) return true;
    const v4 = embeddedIPv4(groups);
    if (v4.length) return v4.some((a) => BLOCKED.check(a, 'ipv4'));
    return BLOCKED.check(groups.map((g) => g.toString(16)).join(':'), 'ipv6');
  }
  return true; // not an address at all: refuse rather than guess
}

function lookupAll(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );
}

/** Resolves the URL's host and refuses it when any of its addresses is blocked. */
export async function assertSafeUrl(rawUrl: string): Promise<void> {
  const url = new URL(rawUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    if (isBlockedAddress(host))
      throw new UnsafeTargetError(`${host} is a private, loopback, link-local or reserved address`);
    return;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await lookupAll(host);
  } catch {
    throw new UnsafeTargetError(`${host} does not resolve`);
  }
  const bad = addresses.find((a) => isBlockedAddress(a.address));
  if (bad)
    throw new UnsafeTargetError(
      `${host} resolves to ${bad.address}, a private, loopback, link-local or reserved address`,
    );
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http.request that checks the addresses it returns, so the connection goes to
 * an address that was checked: re-resolving to a private address between the check and the
 * connect (DNS rebinding) does not get through.
 */
export function guardedLookup(
  hostname: string,
  options: { all?: boolean; family?: number } | number,
  callback: LookupCallback,
): void {
  const opts = typeof options === 'number' ? { family: options } : (options ?? {});
  dnsLookup(hostname, { all: true, verbatim: true, family: opts.family }, (err, addresses) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => isBlockedAddress(a.address));
    if (bad || !addresses.length) {
      return callback(
        Object.assign(
          new UnsafeTargetError(
            `${hostname} resolves to ${bad?.address ?? 'nothing'}, which webhooks may not reach`,
          ),
          { code: 'EUNSAFE' },
        ),
        [],
      );
    }
    if (opts.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}
