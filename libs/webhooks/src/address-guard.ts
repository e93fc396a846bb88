import { LookupAddress, lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/**
 * Where a webhook may not point (SSRF defence): loopback, private, carrier-grade NAT, link-local
 * (which holds the cloud metadata endpoints such as 169.254.169.254), multicast, reserved and
 * documentation ranges, in IPv4 and IPv6; IPv4-mapped IPv6 addresses are judged by their IPv4.
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
  ['64:ff9b::', 96],
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

/** True for an address a webhook must not reach. */
export function isBlockedAddress(address: string): boolean {
  const unbracketed = address.replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(unbracketed);
  if (mapped) return BLOCKED.check(mapped[1], 'ipv4');
  const family = isIP(unbracketed);
  if (family === 4) return BLOCKED.check(unbracketed, 'ipv4');
  if (family === 6) {
    // ::ffff:7f00:1 style (hex) mapped addresses
    const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(unbracketed);
    if (hexMapped) {
      const hi = parseInt(hexMapped[1], 16);
      const lo = parseInt(hexMapped[2], 16);
      return BLOCKED.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
    }
    return BLOCKED.check(unbracketed, 'ipv6');
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
