// `npm run migration:run`: creates the database if needed and applies pending migrations.
import 'reflect-metadata';
import { getConfig } from '../config/app-config';
import { runMigrations } from './migrate';

runMigrations(getConfig(), (msg) => process.stdout.write(`${msg}\n`))
  .then((applied) =>
    process.stdout.write(
      applied.length ? `${applied.length} migration(s) applied\n` : 'database is up to date\n',
    ),
  )
  .catch((err: unknown) => {
    process.stderr.write(`migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
