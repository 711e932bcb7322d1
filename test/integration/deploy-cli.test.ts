import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileArchive, type ArchivePage } from '../../src/archive/compile.js';
import { publishArchive } from '../../src/deploy/publish.js';
import { recordPublication } from '../../src/deploy/records.js';
import { saveSite } from '../../src/sites/repository.js';
import { runClerk, type CliResult } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';

const SITE = 'alameda.ca';


let harness: Harness;

/** The real `clerk` CLI in a child process, pointed at this test's database and deploy folder. */
function clerk(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runClerk(args, { ...harness.env, ...env });
}

async function* pagesOf(pages: ArchivePage[]): AsyncGenerator<ArchivePage> {
  yield* pages;
}

/** Publishes an archive whose one minutes page says `marker`, as the deploy activity does: files, then its row. */
async function publish(marker: string, runId: string): Promise<void> {
  const source = path.join(harness.dataDir, `${marker}.db`);
  await compileArchive(source, pagesOf([{ kind: 'minutes', meeting: 'CityCouncil', date: '2026-01-05', page: 1, text: `${marker} council minutes` }]));
  const publication = await publishArchive({ sourcePath: source, deployDir: harness.config.deployDir, subdomain: SITE, variant: 'full', runId, keep: 2 });
  await recordPublication(harness.db, publication, { workflowId: `site/${SITE}`, runId }, { status: 'ok' }, publication);
}

const siteDir = () => path.join(harness.config.deployDir, SITE);
const currentTarget = () => fs.readlinkSync(path.join(siteDir(), 'current'));

/** What a reader of the stable path (`clerk search`, `clerk serve`) opens now. */
function servedMarker(): string {
  const db = new Database(path.join(siteDir(), 'meetings.db'), { readonly: true });
  try {
    return (db.prepare('SELECT text FROM minutes').get() as { text: string }).text.split(' ')[0]!;
  } finally {
    db.close();
  }
}

describe('clerk deploy, through the real CLI', () => {
  beforeAll(async () => {
    harness = await createHarness('deploy-cli');
    await saveSite(harness.db, { subdomain: SITE, name: 'Alameda', fetcher: 'http-index', sourceUrl: 'http://127.0.0.1:9/index.html' });
    // Three versions with CLERK_DEPLOY_KEEP=2: version 1 is pruned from disk, its row stays.
    await publish('FIRST', 'run-1');
    await publish('SECOND', 'run-2');
    await publish('THIRD', 'run-3');
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('lists every version, newest first, marking the current one and the pruned one', async () => {
    const listed = await clerk(['deploy', 'list', SITE, '--json']);
    expect(listed.code).toBe(0);
    const report = JSON.parse(listed.stdout) as { site: string; current: number; database: string; versions: { version: number; current: boolean; onDisk: boolean; hookStatus: string; pages: number; variant: string }[] };
    expect(report).toMatchObject({ site: SITE, current: 3, database: 'reachable' });
    expect(report.versions.map((v) => [v.version, v.current, v.onDisk, v.hookStatus, v.pages, v.variant])).toEqual([
      [3, true, true, 'ok', 1, 'full'],
      [2, false, true, 'ok', 1, 'full'],
      [1, false, false, 'ok', 1, 'full'],
    ]);

    const text = await clerk(['deploy', 'list', SITE]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[1]).toMatch(/^\*\s+3\s+full\s/);
    expect(lines[3]).toMatch(/^\s+1\s+full\s.*\spruned$/);
  });

  it('rolls back to the previous version after a dry run that changes nothing, and tells the command target', async () => {
    const dryRun = await clerk(['deploy', 'rollback', SITE, '--dry-run', '--json']);
    expect(dryRun.code).toBe(0);
    expect(JSON.parse(dryRun.stdout)).toMatchObject({ site: SITE, from: 3, to: 2, dryRun: true, switched: false });
    expect(currentTarget()).toBe('versions/3');

    const told = path.join(harness.dataDir, 'rollback-event.json');
    const rolledBack = await clerk(['deploy', 'rollback', SITE], { CLERK_DEPLOY_COMMAND: `cat > '${told}'` });
    expect(rolledBack.code).toBe(0);
    expect(rolledBack.stdout).toMatch(/^switched alameda\.ca: current version 3 -> version 2 \(full, published .*, sha256 [0-9a-f]{12} verified\); remote target told$/m);
    expect(currentTarget()).toBe('versions/2');
    expect(servedMarker()).toBe('SECOND');
    expect(JSON.parse(fs.readFileSync(told, 'utf8'))).toMatchObject({ event: 'rollback', site: SITE, version: 2, path: path.join(siteDir(), 'versions', '2', 'meetings.db') });

    const listed = JSON.parse((await clerk(['deploy', 'list', SITE, '--json'])).stdout) as { current: number };
    expect(listed.current).toBe(2);
  });

  it('has nothing to roll back to when the older versions are pruned (exit 1), and refuses a pruned --to (exit 2)', async () => {
    const nothing = await clerk(['deploy', 'rollback', SITE]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('alameda.ca is at version 2, the oldest version kept; nothing older to roll back to');

    const pruned = await clerk(['deploy', 'rollback', SITE, '--to', '1']);
    expect(pruned.code).toBe(2);
    expect(pruned.stderr).toContain('alameda.ca version 1 is not on disk (pruned, or never published); versions kept: 2, 3');

    const notANumber = await clerk(['deploy', 'rollback', SITE, '--to', 'latest']);
    expect(notANumber.code).toBe(2);
    expect(currentTarget()).toBe('versions/2');
  });

  it('rolls forward with --to, and works from the deploy folder alone while Postgres is down', async () => {
    const down = { DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none' };
    const forward = await clerk(['deploy', 'rollback', SITE, '--to', '3', '--json'], down);
    expect(forward.code).toBe(0);
    expect(JSON.parse(forward.stdout)).toMatchObject({ from: 2, to: 3, switched: true, hook: 'none' });
    expect(servedMarker()).toBe('THIRD');

    const listed = await clerk(['deploy', 'list', SITE, '--json'], down);
    expect(listed.code).toBe(0);
    const report = JSON.parse(listed.stdout) as { database: string; versions: { version: number; hookStatus: string | null }[] };
    expect(report.database).toBe('unreachable');
    expect(report.versions.map((v) => [v.version, v.hookStatus])).toEqual([
      [3, null],
      [2, null],
    ]);
  });

  it('refuses a version whose archive no longer matches its sha256 (exit 1), and changes nothing', async () => {
    const file = path.join(siteDir(), 'versions', '2', 'meetings.db');
    const original = fs.readFileSync(file);
    const damaged = Buffer.from(original);
    damaged[100] = damaged[100]! ^ 0xff;
    fs.writeFileSync(file, damaged);
    try {
      const refused = await clerk(['deploy', 'rollback', SITE]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/alameda\.ca version 2: meetings\.db has sha256 [0-9a-f]{64}, its deployment\.json says [0-9a-f]{64}; refusing to switch to it/);
      expect(currentTarget()).toBe('versions/3');
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it('keeps a rollback whose remote target fails, but exits 1 saying so', async () => {
    const failed = await clerk(['deploy', 'rollback', SITE], { CLERK_DEPLOY_COMMAND: 'echo "cdn purge refused" >&2; exit 3', CLERK_DEPLOY_HOOK_ATTEMPTS: '1' });
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('switched alameda.ca: current version 3 -> version 2');
    expect(failed.stderr).toContain('the rollback stands locally (current is version 2), but deploy hook command "echo "cdn purge refused" >&2; exit 3" failed after 1 attempt: exited with code 3: cdn purge refused');
    expect(servedMarker()).toBe('SECOND');
  });

  it('answers an unknown or malformed site with exit 2', async () => {
    const unknown = await clerk(['deploy', 'list', 'nowhere.ca']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('nowhere.ca has no deployments');
    const unknownRollback = await clerk(['deploy', 'rollback', 'nowhere.ca']);
    expect(unknownRollback.code).toBe(2);
    expect(unknownRollback.stderr).toContain('nowhere.ca has no versioned deployment');
    expect((await clerk(['deploy', 'list', '../etc'])).code).toBe(2);
  });
});
