#!/usr/bin/env node
// `npm run schema:drift` (after `npm run build`): the entities and the migrations agree.
// Migrates a fresh scratch database on DATABASE_URL's server, asks TypeORM's schema builder what it
// would change to match the entities (what `migration:generate` would write), drops the scratch
// database, and exits 1 printing those statements when there are any. The migrations are the
// deployed schema: fix the entity, unless the entity is right and a migration is missing.
'use strict';
const { join } = require('node:path');
const { existsSync } = require('node:fs');

const root = join(__dirname, '..');
const dist = (p) => join(root, 'dist', p);
if (!existsSync(dist('libs/core/src/database/migrate.js'))) {
  process.stderr.write('dist/ is missing: run "npm run build" first\n');
  process.exit(2);
}
// TypeORM's schema reader runs queries side by side on one client: pg@8 warns about it each time.
process.noDeprecation = true;
require('reflect-metadata');
const { Client } = require('pg');
const { DataSource } = require('typeorm');
const { loadConfig } = require(dist('libs/core/src/config/app-config.js'));
const { dataSourceOptions } = require(dist('libs/core/src/database/data-source-options.js'));
const { runMigrations } = require(dist('libs/core/src/database/migrate.js'));

async function main() {
  const server = new URL(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/cocode');
  const scratch = `cocode_drift_${Date.now().toString(36)}${process.pid.toString(36)}`;
  const scratchUrl = new URL(server);
  scratchUrl.pathname = `/${scratch}`;
  const adminUrl = new URL(server);
  adminUrl.pathname = '/postgres';

  const config = loadConfig(
    { ...process.env, DATABASE_URL: scratchUrl.toString(), NODE_ENV: 'test' },
    'worker',
  );
  try {
    await runMigrations(config); // creates the scratch database
    const dataSource = new DataSource({ ...dataSourceOptions(config, 'cocode-drift'), extra: { max: 2 } });
    await dataSource.initialize();
    let queries;
    const entities = dataSource.entityMetadatas.length;
    try {
      queries = (await dataSource.driver.createSchemaBuilder().log()).upQueries;
    } finally {
      await dataSource.destroy();
    }
    if (!queries.length) {
      process.stdout.write(`schema drift: none (${entities} entities match the migrations)\n`);
      return 0;
    }
    process.stderr.write(
      `schema drift: generating a migration from the entities would run ${queries.length} statement(s):\n`,
    );
    for (const q of queries) process.stderr.write(`  ${q.query};\n`);
    process.stderr.write(
      'Make the entities match the migrations (the deployed schema), or add the migration the entities need.\n',
    );
    return 1;
  } finally {
    const admin = new Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${scratch}" WITH (FORCE)`).finally(() => admin.end());
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`schema drift check failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(2);
  },
);
