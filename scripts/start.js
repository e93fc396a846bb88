#!/usr/bin/env node
// Starts the whole system: the gateway and one worker, each applying pending migrations (under a
// PostgreSQL advisory lock) before it serves. Reads .env when present. Ctrl-C stops both.
'use strict';
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { GATEWAY_NODE_FLAGS } = require('./node-flags');

const root = join(__dirname, '..');
if (existsSync(join(root, '.env'))) process.loadEnvFile(join(root, '.env'));
if (!process.env.JWT_SECRET && process.env.NODE_ENV !== 'production') {
  // One secret shared by this launcher's processes; tokens die when it restarts (set JWT_SECRET to keep them).
  process.env.JWT_SECRET = require('node:crypto').randomBytes(32).toString('base64url');
}

const apps = {
  gateway: join(root, 'dist/apps/gateway/src/main.js'),
  worker: join(root, 'dist/apps/worker/src/main.js'),
};
const children = new Map();

function withoutGatewaySettings(env) {
  const { GATEWAY_ONLY_SETTINGS } = require(join(root, 'dist/libs/core/src/config/app-config.js'));
  return Object.fromEntries(Object.entries(env).filter(([k]) => !GATEWAY_ONLY_SETTINGS.includes(k)));
}
let stopping = false;

function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 10_000).unref();
  const wait = setInterval(() => {
    if ([...children.values()].every((c) => c.exitCode !== null || c.signalCode !== null)) {
      clearInterval(wait);
      process.exit(code);
    }
  }, 100);
}

for (const [name, file] of Object.entries(apps)) {
  if (!existsSync(file)) {
    process.stderr.write(`${file} is missing: run "npm run build" first\n`);
    process.exit(1);
  }
  const flags = name === 'gateway' ? GATEWAY_NODE_FLAGS : [];
  // The worker gets no signing secret or bootstrap credential: it uses none (GATEWAY_ONLY_SETTINGS).
  const env = name === 'worker' ? withoutGatewaySettings(process.env) : process.env;
  const child = spawn(process.execPath, [...flags, file], { stdio: 'inherit', env });
  children.set(name, child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(`${name} exited (${signal ?? code}); stopping the others\n`);
      stop(code || 1);
    }
  });
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
