import { type Kysely, sql } from 'kysely';

/**
 * Real site sources: each site keeps its platform settings and the hosts it may download from;
 * documents keep what makes a second fetch cheap (HTTP validators, the platform's version stamp)
 * and a `part` that keeps two documents of one meeting on one day apart; listings a fetcher
 * rejected are kept per site so operators see them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('sites')
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('allowed_hosts', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('last_fetched_at', 'timestamptz')
    .execute();

  await db.schema
    .alterTable('documents')
    .addColumn('part', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('etag', 'text')
    .addColumn('last_modified', 'text')
    .addColumn('listed_version', 'text')
    .execute();
  await db.schema.alterTable('documents').dropConstraint('documents_identity_unique').execute();
  await db.schema.alterTable('documents').addUniqueConstraint('documents_identity_unique', ['subdomain', 'kind', 'meeting_slug', 'meeting_date', 'part']).execute();

  await db.schema
    .createTable('listing_rejections')
    .addColumn('subdomain', 'text', (c) => c.notNull().references('sites.subdomain').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('listing_rejections_pk', ['subdomain', 'url', 'reason'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('listing_rejections').ifExists().execute();
  await db.schema.alterTable('documents').dropConstraint('documents_identity_unique').execute();
  await db.deleteFrom('documents' as never).where(sql`part`, '<>', '').execute();
  await db.schema.alterTable('documents').addUniqueConstraint('documents_identity_unique', ['subdomain', 'kind', 'meeting_slug', 'meeting_date']).execute();
  await db.schema.alterTable('documents').dropColumn('part').dropColumn('etag').dropColumn('last_modified').dropColumn('listed_version').execute();
  await db.schema.alterTable('sites').dropColumn('settings').dropColumn('allowed_hosts').dropColumn('last_fetched_at').execute();
}
