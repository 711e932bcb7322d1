import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import type { Db } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { saveSite } from '../../src/sites/repository.js';
import { createHarness, type Harness } from '../support/harness.js';

const BEFORE = '2026-12-03T01-ocr-quality';
let harness: Harness;

beforeAll(async () => {
  harness = await createHarness('deploymigration');
  for (const subdomain of ['alameda.ca', 'berkeley.ca']) {
    await saveSite(harness.db, { subdomain, name: subdomain, fetcher: 'http-index', sourceUrl: 'http://127.0.0.1:9/index.html' });
  }
});

afterAll(async () => {
  await harness?.close();
});

function migrateTo(db: Db, name: string) {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateTo(name);
}

/** A deployment row as the table held it before versioned deploys (its columns only). */
async function insertLegacy(subdomain: string, runId: string, deployedAt: string, minutes: number, agendas: number): Promise<void> {
  await sql`
    insert into deployments (subdomain, workflow_id, run_id, variant, path, sha256, byte_size, minutes_rows, agenda_rows, deployed_at)
    values (${subdomain}, ${`site/${subdomain}`}, ${runId}, 'full', ${`/deploy/${subdomain}/meetings.db`}, ${'0'.repeat(64)}, 4096, ${minutes}, ${agendas}, ${deployedAt})
  `.execute(harness.db);
}

const versionsOf = () =>
  harness.db.selectFrom('deployments').select(['subdomain', 'run_id', 'variant', 'version', 'pages', 'entity_count', 'vote_count', 'published_at', 'deployed_at', 'hook_status', 'hook_error']).orderBy('subdomain').orderBy('version').execute();

describe('the versioned-deploys migration', () => {
  it('numbers existing deployments per site in the order they were deployed, and fills in what it can', async () => {
    expect((await migrateTo(harness.db, BEFORE)).error).toBeUndefined();
    await insertLegacy('alameda.ca', 'run-b', '2026-11-02T00:00:00Z', 10, 2);
    await insertLegacy('alameda.ca', 'run-a', '2026-11-01T00:00:00Z', 8, 1);
    await insertLegacy('berkeley.ca', 'run-c', '2026-11-03T00:00:00Z', 5, 0);

    await migrateToLatest(harness.db);

    const rows = await versionsOf();
    expect(rows.map((r) => [r.subdomain, r.run_id, r.version, r.pages, r.entity_count, r.vote_count, r.hook_status, r.hook_error])).toEqual([
      ['alameda.ca', 'run-a', 1, 9, 0, 0, 'none', null],
      ['alameda.ca', 'run-b', 2, 12, 0, 0, 'none', null],
      ['berkeley.ca', 'run-c', 1, 5, 0, 0, 'none', null],
    ]);
    for (const row of rows) expect(row.published_at).toEqual(row.deployed_at);
  });

  it('allows one row per run and variant, and one per site and version', async () => {
    const row = { subdomain: 'alameda.ca', workflow_id: 'site/alameda.ca', run_id: 'run-b', path: '/p', sha256: '1'.repeat(64), byte_size: 1, minutes_rows: 1, agenda_rows: 0, pages: 1, entity_count: 0, vote_count: 0, published_at: new Date(), hook_status: 'none' as const };
    await harness.db.insertInto('deployments').values({ ...row, variant: 'fast', version: 3 }).execute();
    await expect(harness.db.insertInto('deployments').values({ ...row, variant: 'fast', version: 4 }).execute()).rejects.toThrow(/deployments_run_variant_unique/);
    await expect(harness.db.insertInto('deployments').values({ ...row, run_id: 'run-z', variant: 'full', version: 3 }).execute()).rejects.toThrow(/deployments_version_unique/);
    await expect(harness.db.insertInto('deployments').values({ ...row, run_id: 'run-y', variant: 'full', version: 5, hook_status: 'maybe' as 'ok' }).execute()).rejects.toThrow(/deployments_hook_status_check/);
  });

  it('goes back down to one row per run, keeping the full publication', async () => {
    expect((await migrateTo(harness.db, BEFORE)).error).toBeUndefined();

    const rows = await sql<{ subdomain: string; run_id: string; variant: string }>`select subdomain, run_id, variant from deployments order by subdomain, run_id`.execute(harness.db);
    expect(rows.rows).toEqual([
      { subdomain: 'alameda.ca', run_id: 'run-a', variant: 'full' },
      { subdomain: 'alameda.ca', run_id: 'run-b', variant: 'full' },
      { subdomain: 'berkeley.ca', run_id: 'run-c', variant: 'full' },
    ]);
    await expect(insertLegacy('alameda.ca', 'run-a', '2026-11-05T00:00:00Z', 1, 1)).rejects.toThrow(/deployments_run_unique/);

    await migrateToLatest(harness.db);
    expect((await versionsOf()).map((r) => r.version)).toEqual([1, 2, 1]);
  });
});
