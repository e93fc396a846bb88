'use strict';
// Child processes of the benchmark (gateway, worker, bare server): spawned with node directly
// (so the pid is the server's own), output written straight to a log file, readiness polled.
const { spawn } = require('node:child_process');
const { closeSync, openSync, readFileSync, statSync } = require('node:fs');
const { request, sleep } = require('./util');

const live = new Set();

class ChildApp {
  /**
   * @param {string} name
   * @param {string} script  the .js file to run
   * @param {object} opts    { env, port, logFile, execArgv }
   */
  constructor(name, script, { env, port, logFile, execArgv = [] }) {
    this.name = name;
    this.script = script;
    this.env = env;
    this.port = port;
    this.logFile = logFile;
    this.execArgv = execArgv;
    this.child = null;
    this.spawnedAt = null;
    this.exit = null;
  }

  get pid() {
    return this.child?.pid ?? null;
  }

  get running() {
    return this.child !== null && this.exit === null;
  }

  start() {
    const fd = openSync(this.logFile, 'a');
    try {
      this.spawnedAt = process.hrtime.bigint();
      this.child = spawn(process.execPath, [...this.execArgv, this.script], {
        env: this.env,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd); // the child has its own copy
    }
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
    });
    this.child.once('error', (err) => {
      this.exit ??= { code: null, signal: null, error: err.message };
      live.delete(this);
    });
  }

  /** Milliseconds since spawn(). */
  sinceSpawnMs() {
    return Number(process.hrtime.bigint() - this.spawnedAt) / 1e6;
  }

  /** The last bytes of its log, for error messages. */
  logTail(bytes = 6000) {
    try {
      const size = statSync(this.logFile).size;
      const text = readFileSync(this.logFile, 'utf8');
      return (size > bytes ? '…' : '') + text.slice(-bytes);
    } catch {
      return '(no log)';
    }
  }

  /**
   * Polls GET path every stepMs until it answers 200; returns the ms since spawn at that
   * moment. Throws when the process exits or timeoutMs passes first.
   */
  async waitFor(path, timeoutMs, stepMs = 20) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(
          `${this.name} exited (${JSON.stringify(this.exit)}) before ${path} answered 200:\n${this.logTail()}`,
        );
      }
      try {
        const res = await request(this.port, 'GET', path, { timeoutMs: 1000 });
        if (res.status === 200) return this.sinceSpawnMs();
      } catch {
        /* not listening yet */
      }
      await sleep(stepMs);
    }
    throw new Error(`${this.name}: ${path} did not answer 200 within ${timeoutMs} ms:\n${this.logTail()}`);
  }

  /** Sends `signal`, waits up to graceMs for the exit, then SIGKILL. */
  async stop(signal = 'SIGTERM', graceMs = 5000) {
    if (!this.running) return this.exit;
    this.child.kill(signal);
    const timer = sleep(graceMs).then(() => 'timeout');
    if ((await Promise.race([this.exited, timer])) === 'timeout' && this.running) {
      this.child.kill('SIGKILL');
      await Promise.race([this.exited, sleep(2000)]);
    }
    return this.exit;
  }
}

/** Synchronous last resort (process 'exit', a second Ctrl-C): SIGKILL every child still alive. */
function killAllNow() {
  for (const app of live) {
    try {
      app.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

module.exports = { ChildApp, killAllNow };
