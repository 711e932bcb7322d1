import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sites')
    .addColumn('subdomain', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('fetcher', 'text', (c) => c.notNull())
    .addColumn('source_url', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_error_stage', 'text')
    .addColumn('last_error_message', 'text')
    .addColumn('last_error_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('site_progress')
    .addColumn('subdomain', 'text', (c) => c.primaryKey().references('sites.subdomain').onDelete('cascade'))
    .addColumn('workflow_id', 'text')
    .addColumn('run_id', 'text')
    .addColumn('current_stage', 'text', (c) => c.notNull())
    .addColumn('stage_total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('stage_completed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('documents_total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('documents_done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('documents_failed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pages_total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pages_done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pages_failed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('job_tracking')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('job_id', 'text', (c) => c.notNull().unique())
    .addColumn('subdomain', 'text', (c) => c.notNull())
    .addColumn('job_type', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('activity_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('task_queue', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('job_tracking_subdomain_idx').on('job_tracking').columns(['subdomain', 'created_at']).execute();
  await db.schema
    .createIndex('job_tracking_activity_idx')
    .on('job_tracking')
    .columns(['workflow_id', 'run_id', 'activity_id'])
    .execute();

  await db.schema
    .createTable('documents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subdomain', 'text', (c) => c.notNull().references('sites.subdomain').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('meeting', 'text', (c) => c.notNull())
    .addColumn('meeting_slug', 'text', (c) => c.notNull())
    .addColumn('meeting_date', 'text', (c) => c.notNull())
    .addColumn('source_url', 'text', (c) => c.notNull())
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('content_sha256', 'text', (c) => c.notNull())
    .addColumn('byte_size', 'bigint', (c) => c.notNull())
    .addColumn('page_count', 'integer')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('failure_reason', 'text')
    .addColumn('error', 'text')
    .addColumn('fetched_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('documents_identity_unique', ['subdomain', 'kind', 'meeting_slug', 'meeting_date'])
    .execute();
  await db.schema.createIndex('documents_subdomain_status_idx').on('documents').columns(['subdomain', 'status']).execute();

  await db.schema
    .createTable('pages')
    .addColumn('document_id', 'text', (c) => c.notNull().references('documents.id').onDelete('cascade'))
    .addColumn('page_number', 'integer', (c) => c.notNull())
    .addColumn('subdomain', 'text', (c) => c.notNull())
    .addColumn('content_sha256', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('source', 'text')
    .addColumn('text_key', 'text')
    .addColumn('text_sha256', 'text')
    .addColumn('char_count', 'integer')
    .addColumn('ocr_engine', 'text')
    .addColumn('failure_reason', 'text')
    .addColumn('error', 'text')
    .addColumn('entities', 'jsonb')
    .addColumn('votes', 'jsonb')
    .addColumn('extracted_text_sha256', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('pages_pk', ['document_id', 'page_number'])
    .execute();
  await db.schema.createIndex('pages_subdomain_status_idx').on('pages').columns(['subdomain', 'status']).execute();
  await db.schema.createIndex('pages_content_idx').on('pages').columns(['content_sha256', 'page_number']).execute();

  await db.schema
    .createTable('deployments')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('subdomain', 'text', (c) => c.notNull().references('sites.subdomain').onDelete('cascade'))
    .addColumn('workflow_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('variant', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('byte_size', 'bigint', (c) => c.notNull())
    .addColumn('minutes_rows', 'integer', (c) => c.notNull())
    .addColumn('agenda_rows', 'integer', (c) => c.notNull())
    .addColumn('deployed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // One deployment per run: a retried deploy activity updates its row rather than adding one.
    .addUniqueConstraint('deployments_run_unique', ['subdomain', 'run_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['deployments', 'pages', 'documents', 'job_tracking', 'site_progress', 'sites']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
