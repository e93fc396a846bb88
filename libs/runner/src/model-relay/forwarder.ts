/** Where the session's relay socket is bound inside the sandbox (read-only). */
export const MODEL_RELAY_SOCKET = '/run/cocode/model.sock';

/** The port the forwarder listens on inside the sandbox's own network namespace (its loopback). */
export const MODEL_RELAY_PORT = 17480;

/** What the sandboxed program is given instead of the key: the relay adds the real one. */
export const MODEL_RELAY_PLACEHOLDER_KEY = 'sk-ant-relay-placeholder';

/**
 * The forwarder the sandbox runs before the command, with the sandbox's own node:
 * `node -e FORWARDER_JS -- <port> <socket> <argv...>`. It listens on 127.0.0.1:<port> (0: any
 * free port), pipes each connection to the relay's unix socket, then runs the command with
 * ANTHROPIC_BASE_URL pointing at itself and ends with it (the command's exit code; 128 + n when a
 * signal ended it, as a shell reports). It holds no key: the relay outside adds it. Plain
 * JavaScript in a string, so it needs no file in the sandbox and runs the same from the sources
 * and the build; only node's own modules.
 */
export const FORWARDER_JS = `'use strict';
const net = require('net');
const { spawn } = require('child_process');
const { constants } = require('os');
const [port, socketPath, ...argv] = process.argv.slice(1);
let child = null;
const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
  const relay = net.connect({ path: socketPath, allowHalfOpen: true });
  client.pipe(relay).pipe(client);
  client.on('error', () => relay.destroy());
  relay.on('error', () => client.destroy());
  client.on('close', () => relay.destroy());
  relay.on('close', () => client.destroy());
});
server.on('error', (e) => {
  process.stderr.write('model relay forwarder: ' + e.message + '\\n');
  process.exit(125);
});
server.listen(Number(port), '127.0.0.1', () => {
  const env = { ...process.env, ANTHROPIC_BASE_URL: 'http://127.0.0.1:' + server.address().port };
  child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env });
  child.on('error', (e) => {
    process.stderr.write(argv[0] + ': ' + e.message + '\\n');
    process.exit(127);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] || 0)));
});
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => (child ? child.kill(s) : process.exit(128)));
`;

/** The command line that runs `argv` behind the forwarder, started with `node`. */
export function withForwarder(
  node: string,
  port: number,
  socketPath: string,
  argv: readonly string[],
): string[] {
  return [node, '-e', FORWARDER_JS, '--', String(port), socketPath, ...argv];
}
