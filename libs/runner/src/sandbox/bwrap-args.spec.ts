import { FORWARDER_JS, MODEL_RELAY_PORT, MODEL_RELAY_SOCKET } from '../model-relay/forwarder';
import { BLOCKED_V4, blockedRoutes, BwrapPlan, bwrapArgs } from './bwrap-args';

const plan = (over: Partial<BwrapPlan> = {}): BwrapPlan => ({
  workspace: '/var/ws/build_0123456789abcdef',
  cwd: 'src',
  readOnlyPaths: [],
  rootEntries: [
    { name: 'bin', link: 'usr/bin' },
    { name: 'lib64', dir: true },
  ],
  etcDir: '/tmp/cocode-sandbox-etc-1/etc',
  uid: 10001,
  gid: 10002,
  tmpBytes: 1024,
  networked: false,
  disableUserns: true,
  argv: ['/bin/sh', '-c', 'echo "$SECRET"'],
  ...over,
});

/** The values following each occurrence of `flag`. */
const after = (args: string[], flag: string, n = 1) =>
  args.flatMap((a, i) => (a === flag ? [args.slice(i + 1, i + 1 + n)] : []));

describe('bwrapArgs', () => {
  it('gives the command every namespace of its own, no way back to its parent and no new user namespaces', () => {
    const args = bwrapArgs(plan());
    for (const flag of [
      '--unshare-user',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-net',
      '--unshare-cgroup-try',
      '--disable-userns',
      '--die-with-parent',
      '--new-session',
    ])
      expect(args).toContain(flag);
    expect(after(args, '--uid')).toEqual([['10001']]);
    expect(after(args, '--gid')).toEqual([['10002']]);
  });

  it('mounts system directories read-only and only the workspace and a sized /tmp writable', () => {
    const args = bwrapArgs(plan({ readOnlyPaths: ['/srv/git/repo'] }));
    expect(after(args, '--bind', 2)).toEqual([['/var/ws/build_0123456789abcdef', '/workspace']]);
    expect(after(args, '--ro-bind', 2)).toEqual([
      ['/usr', '/usr'],
      ['/lib64', '/lib64'],
      ['/tmp/cocode-sandbox-etc-1/etc', '/etc'],
      ['/srv/git/repo', '/srv/git/repo'],
    ]);
    expect(after(args, '--symlink', 2)).toEqual([['usr/bin', '/bin']]);
    expect(after(args, '--size', 3)).toEqual([['1024', '--tmpfs', '/tmp']]);
    expect(after(args, '--remount-ro')).toEqual([['/']]);
    expect(after(args, '--chdir')).toEqual([['/workspace/src']]);
  });

  it('binds a writable path (a repository a merge pushes to) read-write at the same path', () => {
    const args = bwrapArgs(plan({ writablePaths: ['/srv/git/origin.git'] }));
    expect(after(args, '--bind', 2)).toEqual([
      ['/var/ws/build_0123456789abcdef', '/workspace'],
      ['/srv/git/origin.git', '/srv/git/origin.git'],
    ]);
  });

  it('puts the command last, after --, and no environment on the command line', () => {
    const args = bwrapArgs(plan());
    expect(args.slice(-4)).toEqual(['--', '/bin/sh', '-c', 'echo "$SECRET"']);
    expect(args).not.toContain('--setenv');
    expect(args).not.toContain('--clearenv');
  });

  it('refuses a working directory that leaves the workspace', () => {
    expect(() => bwrapArgs(plan({ cwd: '../..' }))).toThrow(/leaves the workspace/);
    expect(() => bwrapArgs(plan({ cwd: 'a/../../etc' }))).toThrow(/leaves the workspace/);
    expect(bwrapArgs(plan({ cwd: '' }))).toEqual(expect.arrayContaining(['--chdir', '/workspace']));
  });

  it('reports its pid and waits to be wired when networked; keeps nested user namespaces only when asked', () => {
    const args = bwrapArgs(plan({ networked: true, disableUserns: false }));
    expect(after(args, '--info-fd')).toEqual([['3']]);
    expect(after(args, '--block-fd')).toEqual([['4']]);
    expect(args).not.toContain('--disable-userns');
    expect(bwrapArgs(plan())).not.toContain('--info-fd');
  });
});

describe('bwrapArgs with a model relay', () => {
  const relayed = () =>
    bwrapArgs(plan({ modelRelay: { socketPath: '/tmp/cocode-relay-x/model.sock', node: '/usr/bin/node' } }));

  it('binds the relay’s socket read-only at its fixed path, and nothing else more', () => {
    const args = relayed();
    expect(after(args, '--ro-bind', 2)).toEqual([
      ...after(bwrapArgs(plan()), '--ro-bind', 2),
      ['/tmp/cocode-relay-x/model.sock', MODEL_RELAY_SOCKET],
    ]);
    expect(after(args, '--bind', 2)).toEqual(after(bwrapArgs(plan()), '--bind', 2));
    // Bound before the root becomes read-only.
    expect(args.indexOf(MODEL_RELAY_SOCKET)).toBeLessThan(args.indexOf('--remount-ro'));
  });

  it('runs the command behind the forwarder, with the sandbox’s node, on its own loopback port', () => {
    const args = relayed();
    const command = args.slice(args.indexOf('--') + 1);
    expect(command).toEqual([
      '/usr/bin/node',
      '-e',
      FORWARDER_JS,
      '--',
      String(MODEL_RELAY_PORT),
      MODEL_RELAY_SOCKET,
      '/bin/sh',
      '-c',
      'echo "$SECRET"',
    ]);
    // Still every namespace, the network's too (the forwarder listens on the sandbox's own loopback).
    expect(args).toContain('--unshare-net');
    expect(args).not.toContain('--setenv');
    expect(args).not.toContain('--share-net');
  });

  it('is not there unless asked for', () => {
    const args = bwrapArgs(plan());
    expect(args).not.toContain(MODEL_RELAY_SOCKET);
    expect(args).not.toContain(FORWARDER_JS);
  });
});

describe('blockedRoutes', () => {
  it('prohibits private, loopback, link-local and CGNAT ranges and the host’s own addresses, once each', () => {
    const lines = blockedRoutes(['203.0.113.7', '10.1.2.3', '203.0.113.7']).trim().split('\n');
    expect(lines).toEqual(
      [...BLOCKED_V4, '203.0.113.7/32', '10.1.2.3/32'].map((r) => `route add prohibit ${r}`),
    );
    for (const range of [
      '10.0.0.0/8',
      '127.0.0.0/8',
      '169.254.0.0/16',
      '172.16.0.0/12',
      '192.168.0.0/16',
      '100.64.0.0/10',
    ])
      expect(BLOCKED_V4).toContain(range);
  });
});
