import type { Kysely } from 'kysely';

/**
 * What a full archive was compiled from (src/deploy/freshness.ts): a re-run of an unchanged site
 * compares it with the site's rows now and skips extraction and deploy when they agree. Null for
 * fast archives and for publications recorded before this migration, which never count as current.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployments').addColumn('content_fingerprint', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('deployments').dropColumn('content_fingerprint').execute();
}
