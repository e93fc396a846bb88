import { posix } from 'node:path';
import { MODEL_RELAY_PORT, MODEL_RELAY_SOCKET, withForwarder } from '../model-relay/forwarder';

/** Where the job's workspace is inside the sandbox. */
export const SANDBOX_WORKSPACE = '/workspace';

/** Top-level names that are links into /usr on a merged-/usr system, or directories of their own. */
export type RootEntry = { name: string; link: string } | { name: string; dir: true };

/** Files of /etc a program may need (certificates, resolver, libraries); nothing else of the host's /etc. */
export const ETC_ALLOWED = [
  'alternatives',
  'ssl',
  'ca-certificates',
  'ca-certificates.conf',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'timezone',
  'nsswitch.conf',
  'host.conf',
  'protocols',
  'services',
  'mime.types',
  'os-release',
  'debian_version',
  'inputrc',
  'profile',
  'bash.bashrc',
  'locale.alias',
  'gai.conf',
] as const;

export interface BwrapPlan {
  /** Host directory bound read-write at /workspace. */
  workspace: string;
  /** Working directory, relative to the workspace. */
  cwd: string;
  /** Host paths bound read-only at the same path (a file:// repository being cloned). */
  readOnlyPaths: readonly string[];
  /** Host paths bound read-write at the same path (a file:// repository a merge pushes to). */
  writablePaths?: readonly string[];
  /** /bin, /lib, ... as the host has them. */
  rootEntries: readonly RootEntry[];
  /** The sandbox's /etc: copies of the host's ETC_ALLOWED entries and a generated passwd, group, hosts (resolv.conf when networked). One mount instead of one per file. */
  etcDir: string;
  uid: number;
  gid: number;
  tmpBytes: number;
  /** With a network: bwrap reports the sandbox's pid on fd 3 and waits on fd 4 until it is wired. */
  networked: boolean;
  /** Refuse user namespaces inside (a nested one; without it when a non-root worker must wire the network). */
  disableUserns: boolean;
  argv: readonly string[];
  /**
   * The session's model relay: its socket (a host path) is bound read-only at MODEL_RELAY_SOCKET
   * and the command runs behind the forwarder (MODEL_RELAY_PORT on the sandbox's own loopback),
   * started with `node`, a path the sandbox sees (under /usr).
   */
  modelRelay?: { socketPath: string; node: string };
}

/**
 * The bubblewrap command line for one sandboxed command: every namespace of its own (user, pid,
 * mount, net, ipc, uts, cgroup), dies with its parent, a new session (no terminal to push input
 * into), no further user namespaces, system directories read-only, writable only /workspace and a
 * size-limited /tmp. The environment is not on the command line: bwrap gets exactly the
 * command's environment, so even its own /proc/1/environ holds nothing of the worker's.
 */
export function bwrapArgs(p: BwrapPlan): string[] {
  const cwd = posix.join(SANDBOX_WORKSPACE, p.cwd);
  if (cwd !== SANDBOX_WORKSPACE && !cwd.startsWith(`${SANDBOX_WORKSPACE}/`))
    throw new Error(`working directory ${p.cwd} leaves the workspace`);
  const args = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-net',
    '--unshare-cgroup-try',
    ...(p.disableUserns ? ['--disable-userns'] : []),
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'sandbox',
    '--uid',
    String(p.uid),
    '--gid',
    String(p.gid),
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  for (const e of p.rootEntries) {
    if ('link' in e) args.push('--symlink', e.link, `/${e.name}`);
    else args.push('--ro-bind', `/${e.name}`, `/${e.name}`);
  }
  args.push('--ro-bind', p.etcDir, '/etc');
  args.push(
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    String(p.tmpBytes),
    '--tmpfs',
    '/tmp',
    '--bind',
    p.workspace,
    SANDBOX_WORKSPACE,
  );
  for (const path of p.readOnlyPaths) args.push('--ro-bind', path, path);
  if (p.modelRelay) args.push('--ro-bind', p.modelRelay.socketPath, MODEL_RELAY_SOCKET);
  for (const path of p.writablePaths ?? []) args.push('--bind', path, path);
  // The sandbox's own root (where /etc, /workspace, ... are mount points) is read-only too.
  args.push('--remount-ro', '/', '--chdir', cwd);
  if (p.networked) args.push('--info-fd', '3', '--block-fd', '4');
  const argv = p.modelRelay
    ? withForwarder(p.modelRelay.node, MODEL_RELAY_PORT, MODEL_RELAY_SOCKET, p.argv)
    : p.argv;
  args.push('--', ...argv);
  return args;
}

/** Destinations a networked sandbox may never reach: private, loopback, link-local (metadata), CGNAT, multicast, reserved. */
export const BLOCKED_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4',
  '240.0.0.0/4',
] as const;

/**
 * `ip -batch` lines for the sandbox's network namespace: the blocked ranges and the host's own
 * addresses become "prohibit" routes (EACCES at connect), so the only way out is to the internet.
 * slirp4netns's own 10.0.2.0/24 stays reachable through its more specific route (10.0.2.3 is its
 * DNS forwarder; 10.0.2.2, the host, is refused by --disable-host-loopback).
 */
export function blockedRoutes(hostAddresses: readonly string[]): string {
  const routes = [...BLOCKED_V4, ...hostAddresses.map((a) => `${a}/32`)];
  return [...new Set(routes)].map((r) => `route add prohibit ${r}\n`).join('');
}
