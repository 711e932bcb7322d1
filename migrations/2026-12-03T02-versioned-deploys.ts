import { sql, type Kysely } from 'kysely';

/**
 * Versioned deploys: each publication is a numbered version of its site, and a run may publish
 * twice (its fast archive, then its full one), so a row is one (site, run, variant).
 * - version: 1 + the site's highest version, never reused; existing rows are numbered per site in
 *   the order they were deployed.
 * - pages (minutes + agenda rows), entity_count, vote_count: what the version holds; counts of
 *   rows deployed before this migration are unknown and recorded as 0.
 * - published_at: when the version went live (deployed_at for existing rows).
 * - hook_status / hook_error: the remote target's outcome after the publish.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('deployments')
    .addColumn('version', 'integer')
    .addColumn('pages', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('entity_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('vote_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('published_at', 'timestamptz')
    .addColumn('hook_status', 'text', (c) => c.notNull().defaultTo('none'))
    .addColumn('hook_error', 'text')
    .execute();
  await sql`
    update deployments d
    set version = numbered.version, pages = d.minutes_rows + d.agenda_rows, published_at = d.deployed_at
    from (select id, row_number() over (partition by subdomain order by deployed_at, id) as version from deployments) numbered
    where numbered.id = d.id
  `.execute(db);
  await db.schema.alterTable('deployments').alterColumn('version', (c) => c.setNotNull()).execute();
  await db.schema.alterTable('deployments').alterColumn('published_at', (c) => c.setNotNull()).execute();
  await db.schema.alterTable('deployments').alterColumn('published_at', (c) => c.setDefault(sql`now()`)).execute();
  await db.schema
    .alterTable('deployments')
    .addCheckConstraint('deployments_hook_status_check', sql`hook_status in ('none', 'pending', 'ok', 'failed')`)
    .execute();
  await db.schema.alterTable('deployments').dropConstraint('deployments_run_unique').execute();
  // A retried deploy activity updates its row: one row per run and variant.
  await db.schema.alterTable('deployments').addUniqueConstraint('deployments_run_variant_unique', ['subdomain', 'run_id', 'variant']).execute();
  await db.schema.alterTable('deployments').addUniqueConstraint('deployments_version_unique', ['subdomain', 'version']).execute();
}

/**
 * Back to one row per run: where a run published both variants, its full row stays (or its later
 * one), the other is deleted. Version numbers and counts are dropped.
 */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    delete from deployments d
    using (
      select id, row_number() over (partition by subdomain, run_id order by (variant = 'full') desc, version desc) as rank
      from deployments
    ) ranked
    where ranked.id = d.id and ranked.rank > 1
  `.execute(db);
  await db.schema.alterTable('deployments').dropConstraint('deployments_version_unique').execute();
  await db.schema.alterTable('deployments').dropConstraint('deployments_run_variant_unique').execute();
  await db.schema.alterTable('deployments').dropConstraint('deployments_hook_status_check').execute();
  await db.schema.alterTable('deployments').addUniqueConstraint('deployments_run_unique', ['subdomain', 'run_id']).execute();
  await db.schema
    .alterTable('deployments')
    .dropColumn('version')
    .dropColumn('pages')
    .dropColumn('entity_count')
    .dropColumn('vote_count')
    .dropColumn('published_at')
    .dropColumn('hook_status')
    .dropColumn('hook_error')
    .execute();
}
