import { spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { blockedRoutes } from './bwrap-args';

/** slirp4netns's defaults: the sandbox is 10.0.2.100, the gateway (slirp itself) 10.0.2.2, DNS 10.0.2.3. */
const TAP_SETUP = [
  'link set tap0 mtu 65520',
  'link set tap0 up',
  'addr add 10.0.2.100/24 dev tap0',
  'route add default via 10.0.2.2 dev tap0',
  '',
].join('\n');

/** The host's own IPv4 addresses: a networked sandbox must not reach the host's services through them. */
export function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === 'IPv4')
    .map((a) => a.address);
}

/** Runs a program to its end; rejects with its stderr when it fails. */
function exec(file: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${file}: ${err.trim() || (signal ? `killed after 5 s` : `exit ${code}`)}`));
    });
    child.stdin.end(input ?? '');
  });
}

export interface SandboxLink {
  close(): void;
}

/**
 * Gives the sandbox whose first process is `pid` a way to the internet: slirp4netns (user-mode
 * TCP/IP, no privileges on the host's network) with host loopback disabled, then prohibit routes
 * inside the sandbox for private, loopback, link-local and the host's own addresses. slirp4netns
 * ends when the sandbox's pipe to it closes: with the job, or with the worker if it dies.
 */
export async function connectSandbox(pid: number, asRoot: boolean): Promise<SandboxLink> {
  // By pid, slirp4netns would first join the pid's user namespace, which bubblewrap has already
  // replaced by a nested one (--disable-userns) that holds no power over the network namespace. As
  // root it joins the network namespace by path alone; otherwise that user namespace is the
  // sandbox's own (no --disable-userns for networked sandboxes of a non-root worker).
  const target = asRoot
    ? ['--netns-type=path', `/proc/${pid}/ns/net`]
    : [`--userns-path=/proc/${pid}/ns/user`, '--netns-type=path', `/proc/${pid}/ns/net`];
  const slirp = spawn(
    'slirp4netns',
    ['--mtu=65520', '--disable-host-loopback', '--ready-fd=3', '--exit-fd=4', ...target, 'tap0'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } },
  );
  let err = '';
  slirp.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const exitPipe = slirp.stdio[4] as NodeJS.WritableStream & { destroy(): void };
  const link: SandboxLink = {
    close: () => {
      exitPipe.destroy();
      if (slirp.exitCode === null) slirp.kill('SIGKILL');
    },
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('slirp4netns did not come up within 10 s')), 10_000);
      slirp.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      slirp.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`slirp4netns exited (${code}): ${err.trim()}`));
      });
      (slirp.stdio[3] as NodeJS.ReadableStream).once('data', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const enter = asRoot
      ? [`--net=/proc/${pid}/ns/net`]
      : [`--user=/proc/${pid}/ns/user`, '--preserve-credentials', `--net=/proc/${pid}/ns/net`];
    // The tap device is wired here, not by slirp4netns --configure: that also brings the loopback
    // up, which collides with bubblewrap setting up the same loopback (its set-up then fails).
    await exec('nsenter', [...enter, '--', 'ip', '-batch', '-'], TAP_SETUP + blockedRoutes(hostAddresses()));
    slirp.removeAllListeners('exit');
    return link;
  } catch (e) {
    link.close();
    throw e;
  }
}
