import type { Kysely } from 'kysely';

/**
 * Which worker host ran each attempt (CLERK_HOST, by default the machine's hostname), so a fleet's
 * operators can see where work went and which host's attempts were lost. Null for attempts
 * recorded before this migration.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('job_tracking').addColumn('host', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('job_tracking').dropColumn('host').execute();
}
