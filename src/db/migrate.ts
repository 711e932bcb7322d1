import { type MigrationResultSet, Migrator, NO_MIGRATIONS } from 'kysely';
import { migrations } from '../../migrations/index.js';
import type { Db } from './connect.js';

function migratorFor(db: Db): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  return throwOnError(await migratorFor(db).migrateToLatest());
}

export async function rollback(db: Db, options: { all?: boolean } = {}): Promise<MigrationResultSet> {
  const migrator = migratorFor(db);
  return throwOnError(options.all ? await migrator.migrateTo(NO_MIGRATIONS) : await migrator.migrateDown());
}

export interface MigrationState {
  name: string;
  executedAt: Date | undefined;
}

export async function migrationStatus(db: Db): Promise<MigrationState[]> {
  const all = await migratorFor(db).getMigrations();
  return all.map((m) => ({ name: m.name, executedAt: m.executedAt }));
}

function throwOnError(result: MigrationResultSet): MigrationResultSet {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${String((result.error as Error).message ?? result.error)}`);
  }
  return result;
}
