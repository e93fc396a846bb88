'use strict';
// Which SQL statements each process sent during a time window (a warm-up), without touching the
// processes: one extra connection samples pg_stat_activity (every backend's current or last
// statement and its start time) every few milliseconds, and each backend is attributed to a
// process by its client port (/proc/<pid>/fd sockets matched against /proc/net/tcp{,6}).
// Under load every statement is caught many times; a statement that never shows up was not sent.
const { readdirSync, readFileSync, readlinkSync } = require('node:fs');
const { Client } = require('pg');
const { normalizeSql } = require('./tasks-sql');
const { sleep } = require('./util');

/** The local TCP ports of the sockets `pid` holds (empty when /proc is not readable). */
function localPortsOf(pid) {
  const inodes = new Set();
  let fds = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return new Set();
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* closed meanwhile */
    }
  }
  const ports = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines = [];
    try {
      lines = readFileSync(file, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && inodes.has(f[9])) ports.add(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}

const SAMPLE_SQL = `SELECT client_port, query FROM pg_stat_activity
  WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND query_start >= $2`;

class SqlTrace {
  /** @param {string} databaseUrl  the benchmark's database; @param {string} dbName its name */
  constructor(databaseUrl, dbName, { intervalMs = 5, maxMs = 120000 } = {}) {
    this.databaseUrl = databaseUrl;
    this.dbName = dbName;
    this.intervalMs = intervalMs;
    this.maxMs = maxMs;
    this.client = null;
  }

  async connect() {
    this.client = new Client({
      connectionString: this.databaseUrl,
      application_name: 'cocode-bench-sql-trace',
      connectionTimeoutMillis: 5000,
      statement_timeout: 5000,
    });
    await this.client.connect();
  }

  async close() {
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }

  /**
   * Starts sampling now. The returned function stops it and returns, for each process in
   * `processes` ({ label: pid }), the statements it sent (whitespace-normalised) with how many
   * samples saw each; backends of no listed process are under "other".
   */
  begin() {
    const byPort = new Map();
    let running = true;
    let samples = 0;
    let error = null;
    const loop = (async () => {
      try {
        const since = (await this.client.query('SELECT clock_timestamp() AS t')).rows[0].t;
        const deadline = Date.now() + this.maxMs;
        while (running && Date.now() < deadline) {
          const { rows } = await this.client.query(SAMPLE_SQL, [this.dbName, since]);
          samples += 1;
          for (const r of rows) {
            if (!r.query) continue;
            const key = normalizeSql(r.query);
            const m = byPort.get(r.client_port) ?? new Map();
            m.set(key, (m.get(key) ?? 0) + 1);
            byPort.set(r.client_port, m);
          }
          await sleep(this.intervalMs);
        }
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
    })();
    return async (processes) => {
      running = false;
      await loop;
      const portsOf = Object.fromEntries(
        Object.entries(processes).map(([label, pid]) => [label, pid ? localPortsOf(pid) : new Set()]),
      );
      const out = {};
      const add = (label, sql, n) => {
        out[label] ??= new Map();
        out[label].set(sql, (out[label].get(sql) ?? 0) + n);
      };
      for (const [port, statements] of byPort) {
        const label = Object.keys(portsOf).find((l) => portsOf[l].has(port)) ?? 'other';
        for (const [sql, n] of statements) add(label, sql, n);
      }
      const statements = Object.fromEntries(
        Object.entries(out).map(([label, m]) => [
          label,
          [...m.entries()].sort((a, b) => b[1] - a[1]).map(([sql, n]) => ({ sql, samples: n })),
        ]),
      );
      return { samples, error, statements };
    };
  }
}

const TABLES = /\b(tasks|projects|project_members|task_status_counts|task_history|task_counters)\b/;

/**
 * Compares what the gateway and the baseline sent for one endpoint with the expected texts:
 * same = both sent exactly the expected statements; statements of the gateway that touch none
 * of the project/task tables (its principal lookups, for example) are listed apart, not counted.
 * Without bareTrace only the gateway is checked.
 */
function compareStatements(expected, gatewayTrace, bareTrace) {
  const withBare = bareTrace !== undefined;
  const want = expected.map(normalizeSql);
  const g = (gatewayTrace?.statements?.gateway ?? []).map((s) => s.sql);
  const b = (bareTrace?.statements?.bare ?? []).map((s) => s.sql);
  const missingInGateway = want.filter((s) => !g.includes(s));
  const gatewayExtra = g.filter((s) => !want.includes(s));
  const gatewayExtraOnTaskTables = gatewayExtra.filter((s) => TABLES.test(s));
  const missingInBare = withBare ? want.filter((s) => !b.includes(s)) : null;
  const bareExtra = withBare ? b.filter((s) => !want.includes(s)) : null;
  const traced = Boolean(
    gatewayTrace && !gatewayTrace.error && (!withBare || (bareTrace && !bareTrace.error)),
  );
  return {
    traced,
    same:
      traced &&
      !missingInGateway.length &&
      !gatewayExtraOnTaskTables.length &&
      (!withBare || (!missingInBare.length && !bareExtra.length)),
    expected: want,
    missingInGateway,
    gatewayExtraOnTaskTables,
    gatewayOtherStatements: gatewayExtra.filter((s) => !TABLES.test(s)),
    missingInBare,
    bareExtra,
    samples: { gateway: gatewayTrace?.samples ?? 0, bare: withBare ? (bareTrace?.samples ?? 0) : null },
    errors: [gatewayTrace?.error, bareTrace?.error].filter(Boolean),
  };
}

/** The pids of the PostgreSQL backends serving `appPid` (matched by client port), for CPU accounting. */
async function backendPidsOf(client, dbName, appPid) {
  const ports = localPortsOf(appPid);
  const { rows } = await client.query(
    `SELECT pid, client_port FROM pg_stat_activity
      WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    [dbName],
  );
  return rows.filter((r) => ports.has(r.client_port)).map((r) => r.pid);
}

/** "users, api_clients": the tables a list of statements reads (for a short description). */
const tablesOf = (statements) => [
  ...new Set(statements.flatMap((s) => [...s.matchAll(/\b(?:FROM|JOIN)\s+"?(\w+)"?/gi)].map((m) => m[1]))),
];

module.exports = { SqlTrace, compareStatements, localPortsOf, backendPidsOf, tablesOf };
