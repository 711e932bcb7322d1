import { Command } from 'commander';
import { migrateToLatest, migrationStatus, rollback } from '../../db/migrate.js';
import { printJson, withDb } from '../context.js';

export function dbCommand(): Command {
  const db = new Command('db').description('database migrations');

  db.command('migrate')
    .description('apply every pending migration')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const result = await withDb((conn) => migrateToLatest(conn));
      const applied = result.results?.map((r) => r.migrationName) ?? [];
      if (options.json) return printJson({ applied });
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
    });

  db.command('status')
    .description('list migrations and when each was applied')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const states = await withDb((conn) => migrationStatus(conn));
      if (options.json) return printJson(states);
      for (const s of states) console.log(`${s.executedAt ? 'applied ' + s.executedAt.toISOString() : 'pending'}\t${s.name}`);
    });

  db.command('rollback')
    .description('undo the latest migration (or all with --all)')
    .option('--all', 'undo every migration')
    .option('--json', 'print JSON')
    .action(async (options: { all?: boolean; json?: boolean }) => {
      const result = await withDb((conn) => rollback(conn, { all: options.all ?? false }));
      const undone = result.results?.map((r) => r.migrationName) ?? [];
      if (options.json) return printJson({ undone });
      console.log(undone.length ? `rolled back: ${undone.join(', ')}` : 'nothing to roll back');
    });

  return db;
}
