'use strict';
// Small helpers shared by the benchmark: HTTP probes to 127.0.0.1, /proc readings, ports.
const http = require('node:http');
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { createServer } = require('node:net');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1 (the OS picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * One HTTP request to 127.0.0.1 (no keep-alive), resolving { status, headers, body } or
 * rejecting on a connection error or after timeoutMs.
 */
function request(port, method, path, { headers = {}, body, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': payload.length, ...headers }
          : headers,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/** VmRSS (and VmHWM, the peak) of a process in kB, from /proc/<pid>/status; null when unreadable. */
function readMemoryKb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name) => {
      const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
      return m ? Number(m[1]) : null;
    };
    return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
  } catch {
    return { rssKb: null, hwmKb: null };
  }
}

let clockTicks = null;
function ticksPerSecond() {
  if (clockTicks === null) {
    try {
      clockTicks =
        Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; null when unreadable. */
function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** Whole-machine CPU counters from /proc/stat (in ticks): busy and total. */
function machineCpuTicks() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = v[3] + (v[4] || 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/**
 * Starts measuring CPU use; the returned function gives, for the time since, each pid's CPU
 * in % of one core and the whole machine's busy share in % of all cores.
 */
function cpuMeter(pids) {
  const t0 = process.hrtime.bigint();
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuSeconds(pid)]));
  const machine0 = machineCpuTicks();
  return () => {
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const out = {};
    for (const [k, pid] of Object.entries(pids)) {
      const now = processCpuSeconds(pid);
      out[`${k}CorePct`] =
        now === null || before[k] === null ? null : round(((now - before[k]) / seconds) * 100, 0);
    }
    const machine1 = machineCpuTicks();
    out.machineBusyPct =
      machine0 && machine1 && machine1.total > machine0.total
        ? round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100, 0)
        : null;
    return out;
  };
}

/** Samples a process's VmRSS (MB) every intervalMs until the returned stop function is called. */
function rssSampler(pid, intervalMs = 1000) {
  const samples = [];
  const take = () => {
    const { rssKb } = readMemoryKb(pid);
    if (rssKb !== null) samples.push(round(rssKb / 1024, 1));
  };
  take();
  const timer = setInterval(take, intervalMs);
  return () => {
    clearInterval(timer);
    take();
    return samples;
  };
}

/** Values of the named metrics in a Prometheus text exposition, summed over their label sets. */
function parsePrometheus(text, names) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && names.includes(m[1])) out[m[1]] = (out[m[1]] ?? 0) + Number(m[3]);
  }
  return out;
}

function round(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return null;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Read-only facts about the checkout, for the results file (never changes the repository). */
function gitDescribe(cwd) {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return commit || null;
  } catch {
    return null;
  }
}

module.exports = {
  sleep,
  freePort,
  request,
  readMemoryKb,
  processCpuSeconds,
  cpuMeter,
  rssSampler,
  parsePrometheus,
  round,
  gitDescribe,
};
