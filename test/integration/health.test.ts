import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport } from '../../src/ops/health.js';
import { taskQueuesWithPrefix } from '../../src/workflows/types.js';
import { runClerk, type CliResult } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';
import { freePort } from '../../src/dev/probes.js';

const queueChecks = ['queue:workflows', 'queue:fetch', 'queue:ocr', 'queue:extraction', 'queue:deploy'];


let harness: Harness;

/** The real `clerk` CLI in a child process, pointed at this test's database and Temporal server. */
function clerk(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runClerk(args, { ...harness.env, ...env });
}

/** `clerk health --json`, with a short service timeout so a closed port is called down quickly. */
async function health(extraArgs: string[] = [], env: Record<string, string> = {}): Promise<{ code: number; report: HealthReport; stderr: string }> {
  const result = await clerk(['health', '--json', '--timeout', '3s', ...extraArgs], env);
  return { code: result.code, report: JSON.parse(result.stdout) as HealthReport, stderr: result.stderr };
}

function check(report: HealthReport, name: string) {
  const found = report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check named ${name} in ${JSON.stringify(report.checks.map((c) => c.name))}`);
  return found;
}

function notOk(report: HealthReport): string[] {
  return report.checks.filter((c) => c.status !== 'ok').map((c) => c.name);
}


/** Workers register as pollers with their first poll request, a moment after they start. */
async function untilEveryQueueHasPollers(): Promise<void> {
  const queues = taskQueuesWithPrefix(harness.config.temporal.taskQueuePrefix);
  for (;;) {
    const counts = await Promise.all(
      Object.entries(queues).map(async ([type, name]) => {
        const response = await harness.client.workflowService.describeTaskQueue({
          namespace: harness.config.temporal.namespace,
          taskQueue: { name },
          taskQueueType: type === 'workflows' ? 1 : 2,
        });
        return response.pollers?.length ?? 0;
      }),
    );
    if (counts.every((n) => n > 0)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('clerk health, through the real CLI', () => {
  beforeAll(async () => {
    harness = await createHarness('health');
  });

  afterAll(async () => {
    await harness?.close();
  });

  // Before any worker starts: the server remembers a stopped worker's pollers for minutes, so this
  // test runs first on this file's fresh task-queue prefix.
  it('is degraded (exit 1) when no worker polls the task queues, naming each queue and the worker to start', async () => {
    const { code, report } = await health();
    expect(code).toBe(1);
    expect(report.status).toBe('degraded');
    expect(notOk(report).sort()).toEqual([...queueChecks].sort());
    const ocr = check(report, 'queue:ocr');
    expect(ocr).toMatchObject({ status: 'degraded', details: { taskQueue: `${harness.config.temporal.taskQueuePrefix}ocr`, pollers: [] } });
    expect(ocr.message).toContain(`${harness.config.temporal.taskQueuePrefix}ocr`);
    expect(ocr.message).toContain('clerk worker ocr');
    expect(check(report, 'queue:workflows').message).toContain('clerk worker workflows');
  });

  it('is healthy (exit 0) with workers on every queue, in JSON and as one marked line per check', async () => {
    await harness.startWorkers();
    await untilEveryQueueHasPollers();

    const { code, report } = await health();
    expect(code).toBe(0);
    expect(report.status).toBe('ok');
    expect(report.checks.map((c) => c.name)).toEqual(['temporal', ...queueChecks, 'postgres', 'migrations', 'stuck-sites', 'counters', 'folder:storage', 'folder:deploy']);
    expect(notOk(report)).toEqual([]);
    expect((check(report, 'queue:fetch').details!.pollers as unknown[]).length).toBeGreaterThan(0);
    expect(check(report, 'migrations').details).toMatchObject({ pending: [] });
    expect(check(report, 'folder:storage').details).toMatchObject({ path: harness.config.storageDir });
    expect(Date.parse(report.checkedAt)).not.toBeNaN();
    // The writability probe leaves nothing behind.
    expect(fs.readdirSync(harness.config.storageDir)).toEqual([]);

    const human = await clerk(['health', '--timeout', '3s']);
    expect(human.code).toBe(0);
    const lines = human.stdout.trim().split('\n');
    expect(lines).toHaveLength(report.checks.length + 1);
    expect(lines.slice(0, -1).every((line) => line.startsWith('✓ '))).toBe(true);
    expect(lines.at(-1)).toBe('clerk is healthy');
  });

  it('names a site stuck in a working stage past --stuck-after (exit 1), and not sites at rest or recently updated', async () => {
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
    await harness.db
      .insertInto('sites')
      .values(['stuck.ocr', 'busy.ocr', 'done.long'].map((subdomain) => ({ subdomain, name: subdomain, fetcher: 'folder', source_url: 'file:///nowhere' })))
      .execute();
    await harness.db
      .insertInto('site_progress')
      .values([
        { subdomain: 'stuck.ocr', current_stage: 'ocr', updated_at: hoursAgo(7) },
        { subdomain: 'busy.ocr', current_stage: 'ocr', updated_at: hoursAgo(0) },
        { subdomain: 'done.long', current_stage: 'completed', updated_at: hoursAgo(48) },
      ])
      .execute();

    const { code, report } = await health();
    expect(code).toBe(1);
    expect(notOk(report)).toEqual(['stuck-sites']);
    const stuck = check(report, 'stuck-sites');
    expect(stuck.status).toBe('degraded');
    expect(stuck.message).toContain('stuck.ocr (ocr since');
    expect(stuck.message).toContain('over 6h');
    expect((stuck.details!.sites as { subdomain: string; stage: string }[]).map((s) => [s.subdomain, s.stage])).toEqual([['stuck.ocr', 'ocr']]);

    // A looser threshold leaves it alone.
    const lenient = await health(['--stuck-after', '8h']);
    expect(lenient.code).toBe(0);
    await harness.db.deleteFrom('sites').where('subdomain', 'in', ['stuck.ocr', 'busy.ocr', 'done.long']).execute();
  });

  it('names a site in a run whose counters differ from a count of its pages (exit 1), and not one whose counters agree', async () => {
    await harness.db
      .insertInto('sites')
      .values(['drifted.ocr', 'exact.ocr'].map((subdomain) => ({ subdomain, name: subdomain, fetcher: 'folder', source_url: 'file:///nowhere' })))
      .execute();
    // Nothing in the pages table: the exact site counts 0 of 0, the drifted one claims 3 pages done.
    await harness.db
      .insertInto('site_progress')
      .values([
        { subdomain: 'drifted.ocr', current_stage: 'ocr', pages_total: 3, pages_done: 3 },
        { subdomain: 'exact.ocr', current_stage: 'ocr' },
      ])
      .execute();

    const { code, report } = await health();
    expect(code).toBe(1);
    expect(notOk(report)).toEqual(['counters']);
    const counters = check(report, 'counters');
    expect(counters.message).toContain('drifted.ocr');
    expect(counters.message).not.toContain('exact.ocr');
    expect(counters.details).toMatchObject({ checked: 2, drifted: [{ subdomain: 'drifted.ocr', counted: { pages: { total: 0, done: 0, failed: 0 } } }] });
    await harness.db.deleteFrom('sites').where('subdomain', 'in', ['drifted.ocr', 'exact.ocr']).execute();
  });

  it('names a migration that is not applied (exit 1)', async () => {
    // As if the code were upgraded and `clerk db migrate` not run: forget the newest migration's row.
    const { rows } = await sql<{ name: string; timestamp: string }>`select name, timestamp from kysely_migration order by name desc limit 1`.execute(harness.db);
    const newest = rows[0]!;
    await sql`delete from kysely_migration where name = ${newest.name}`.execute(harness.db);
    try {
      const { code, report } = await health();
      expect(code).toBe(1);
      expect(notOk(report)).toEqual(['migrations']);
      expect(check(report, 'migrations').details).toMatchObject({ pending: [newest.name] });
      expect(check(report, 'migrations').message).toContain('clerk db migrate');
    } finally {
      await sql`insert into kysely_migration (name, timestamp) values (${newest.name}, ${newest.timestamp})`.execute(harness.db);
    }
  });

  it('is degraded (exit 1) under --min-free-gb, and down (exit 2) when a folder cannot be written', async () => {
    const low = await health(['--min-free-gb', '100000000']);
    expect(low.code).toBe(1);
    expect(notOk(low.report)).toEqual(['folder:storage', 'folder:deploy']);
    expect(check(low.report, 'folder:deploy').message).toContain('under the');

    // A regular file where the deploy folder's parent should be: no user, root included, can write there.
    const blocker = path.join(harness.dataDir, 'not-a-folder');
    fs.writeFileSync(blocker, '');
    const unwritable = await health([], { CLERK_DEPLOY_DIR: path.join(blocker, 'deploy') });
    expect(unwritable.code).toBe(2);
    expect(unwritable.report.status).toBe('down');
    expect(notOk(unwritable.report)).toEqual(['folder:deploy']);
    expect(check(unwritable.report, 'folder:deploy').message).toContain('is not writable');
  });

  it('is down (exit 2) when Postgres is unreachable, with Temporal still checked', async () => {
    const port = await freePort();
    const { code, report } = await health([], { DATABASE_URL: `postgres://clerk@127.0.0.1:${port}/clerk` });
    expect(code).toBe(2);
    expect(report.status).toBe('down');
    expect(check(report, 'postgres')).toMatchObject({ status: 'down' });
    expect(check(report, 'postgres').message).toContain(`127.0.0.1:${port}`);
    expect(check(report, 'migrations').status).toBe('down');
    expect(check(report, 'stuck-sites').status).toBe('down');
    expect(check(report, 'counters').status).toBe('down');
    expect(check(report, 'temporal').status).toBe('ok');
    expect(check(report, 'queue:ocr').status).toBe('ok');
  });

  it('is down (exit 2) when Temporal is unreachable, with Postgres still checked', async () => {
    const port = await freePort();
    const { code, report } = await health([], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    expect(code).toBe(2);
    expect(report.status).toBe('down');
    expect(check(report, 'temporal')).toMatchObject({ status: 'down' });
    expect(check(report, 'temporal').message).toContain(`127.0.0.1:${port}`);
    for (const name of queueChecks) expect(check(report, name).status).toBe('down');
    expect(check(report, 'postgres').status).toBe('ok');
    expect(check(report, 'migrations').status).toBe('ok');
  });

  it('refuses a bad flag with exit 2 and a sentence, before checking anything', async () => {
    const result = await clerk(['health', '--stuck-after', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('expected a duration such as 90s, 30m, 6h or 2d');
    expect(result.stdout).toBe('');
  });
});
