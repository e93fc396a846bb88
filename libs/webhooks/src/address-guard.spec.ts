import { assertSafeUrl, guardedLookup, isBlockedAddress, UnsafeTargetError } from './address-guard';

describe('webhook address guard (SSRF)', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254', // cloud metadata
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fd00:ec2::254', // AWS metadata over IPv6
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe', // 169.254.169.254 mapped
    '[::1]',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'allows %s',
    (address) => {
      expect(isBlockedAddress(address)).toBe(false);
    },
  );

  // IPv6 spellings that embed a private IPv4 address: each is judged by that address.
  it.each([
    ['::127.0.0.1', 'IPv4-compatible, dotted'],
    ['::7f00:1', 'IPv4-compatible, hex'],
    ['0:0:0:0:0:0:127.0.0.1', 'IPv4-compatible, uncompressed'],
    ['::10.1.2.3', 'IPv4-compatible, private'],
    ['::a9fe:a9fe', 'IPv4-compatible, metadata'],
    ['::ffff:127.0.0.1', 'mapped, dotted'],
    ['::FFFF:7F00:0001', 'mapped, upper-case hex with leading zeros'],
    ['0:0:0:0:0:ffff:192.168.1.1', 'mapped, uncompressed'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated'],
    ['64:ff9b::127.0.0.1', 'NAT64, dotted'],
    ['64:ff9b::a9fe:a9fe', 'NAT64, metadata'],
    ['64:ff9b::0a00:0001', 'NAT64, 10.0.0.1'],
    ['64:ff9b:1::1.2.3.4', 'local-use NAT64'],
    ['2002:7f00:1::', '6to4 of 127.0.0.1'],
    ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
    ['2002:a9fe:a9fe:0:0:0:0:1', '6to4 of the metadata address'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo with client 127.0.0.1'],
    ['2001:0:a00:1:8000:63bf:3fff:fdd2', 'Teredo with server 10.0.0.1'],
    ['[::127.0.0.1]', 'bracketed'],
    ['fe80::1%eth0', 'link-local with a zone'],
  ])('refuses %s (%s)', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each(['::8.8.8.8', '::ffff:808:808', '64:ff9b::8.8.8.8', '2002:808:808::1', '2001:4860:4860::8888'])(
    'allows %s (embeds a public IPv4 address or none)',
    (address) => {
      expect(isBlockedAddress(address)).toBe(false);
    },
  );

  it.each([
    'http://[::127.0.0.1]/',
    'http://[::ffff:127.0.0.1]:8080/x',
    'https://[64:ff9b::7f00:1]/',
    'http://[2002:7f00:1::]/',
    'http://[0:0:0:0:0:0:a9fe:a9fe]/latest/meta-data',
  ])('assertSafeUrl refuses %s', async (url) => {
    await expect(assertSafeUrl(url)).rejects.toBeInstanceOf(UnsafeTargetError);
  });

  it('refuses, at connect time, a hostname that resolves to loopback', (done) => {
    guardedLookup('localhost', { all: true }, (err) => {
      expect(err).toBeTruthy();
      expect((err as NodeJS.ErrnoException).code).toBe('EUNSAFE');
      done();
    });
  });
});
