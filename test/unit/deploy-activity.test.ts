import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDeployActivities, type DeployedVersion } from '../../src/activities/deploy.js';
import { compileArchive, type ArchivePage } from '../../src/archive/compile.js';
import { archiveKey, type ArchiveVariant } from '../../src/archive/layout.js';
import type { DeployConfig } from '../../src/config/index.js';
import { currentVersion } from '../../src/deploy/layout.js';
import { saveSite } from '../../src/sites/repository.js';
import { createHarness, type Harness } from '../support/harness.js';

let harness: Harness;
let site: string;
let siteCount = 0;

beforeAll(async () => {
  harness = await createHarness('deployactivity');
});

afterAll(async () => {
  await harness?.close();
});

// Each test deploys its own site, so versions and rows start from nothing.
beforeEach(async () => {
  site = `site${++siteCount}.example`;
  await saveSite(harness.db, { subdomain: site, name: site, fetcher: 'http-index', sourceUrl: 'http://127.0.0.1:9/index.html' });
});

async function* pagesOf(pages: ArchivePage[]): AsyncGenerator<ArchivePage> {
  yield* pages;
}

/** Compiles the archive the extraction stage would leave in the store for a variant. */
async function compiled(variant: ArchiveVariant): Promise<void> {
  const withEntities = variant === 'full';
  await compileArchive(
    await harness.store.localPath(archiveKey(site, variant)),
    pagesOf([
      { kind: 'minutes', meeting: 'CityCouncil', date: '2026-01-05', page: 1, text: 'Motion by Ortiz to approve the bike lanes.', ...(withEntities ? { entities: { persons: ['Ortiz'], orgs: [], locations: ['Park Street'] }, votes: [{ motion_by: 'Ortiz', seconded_by: null, result: 'passed', tally: { ayes: 5, nays: 0, abstain: 0, absent: 0 }, individual_votes: [] }] } : {}) },
      { kind: 'agenda', meeting: 'CityCouncil', date: '2026-01-05', page: 1, text: 'Item 1: bike lanes.' },
    ]),
  );
}

/** Runs deployArchive as the worker would, inside an activity context of the given run. */
function deploy(variant: ArchiveVariant, runId: string, deployConfig: Partial<DeployConfig> = {}): Promise<DeployedVersion> {
  const config = { ...harness.config, deploy: { ...harness.config.deploy, ...deployConfig } };
  const { deployArchive } = createDeployActivities({ db: harness.db, store: harness.store, config }, { hookRetryBaseMs: 10 });
  // The failures tests provoke on purpose would otherwise be logged as warnings.
  const env = new MockActivityEnvironment({ activityType: 'deployArchive', workflowExecution: { workflowId: `site/${site}`, runId } }, { logger: new DefaultLogger('ERROR') });
  return env.run(deployArchive, { subdomain: site, variant }) as Promise<DeployedVersion>;
}

function rows() {
  return harness.db.selectFrom('deployments').selectAll().where('subdomain', '=', site).orderBy('version').execute();
}

/** A webhook receiver answering `status` to every POST. */
async function webhook(status: number): Promise<{ url: string; bodies: unknown[]; close(): Promise<void> }> {
  const bodies: unknown[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.writeHead(status).end(status === 200 ? 'ok' : 'bucket is read-only');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/deployed`, bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('deployArchive', () => {
  it('publishes the next version, records it with its counts, and a retry of the activity reuses that version', async () => {
    await compiled('full');
    const deployed = await deploy('full', 'run-1');

    expect(deployed).toEqual({
      version: 1,
      variant: 'full',
      path: path.join(harness.config.deployDir, site, 'versions', '1', 'meetings.db'),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      pages: 2,
      entities: 2,
      votes: 1,
      publishedAt: expect.any(String),
    });
    expect(await rows()).toEqual([
      expect.objectContaining({
        version: 1,
        variant: 'full',
        run_id: 'run-1',
        workflow_id: `site/${site}`,
        path: deployed.path,
        sha256: deployed.sha256,
        byte_size: fs.statSync(deployed.path).size,
        minutes_rows: 1,
        agenda_rows: 1,
        pages: 2,
        entity_count: 2,
        vote_count: 1,
        published_at: new Date(deployed.publishedAt),
        hook_status: 'none',
        hook_error: null,
      }),
    ]);

    expect(await deploy('full', 'run-1')).toEqual(deployed);
    expect(await rows()).toHaveLength(1);
    expect(fs.readdirSync(path.join(harness.config.deployDir, site, 'versions'))).toEqual(['1']);
  });

  it("records a run's fast and full publications as two versions, the full one current", async () => {
    await compiled('fast');
    await compiled('full');
    const fast = await deploy('fast', 'run-1');
    const full = await deploy('full', 'run-1');

    expect([fast.version, full.version]).toEqual([1, 2]);
    expect(fast).toMatchObject({ pages: 2, entities: 0, votes: 0 });
    expect((await rows()).map((r) => [r.version, r.variant, r.run_id])).toEqual([
      [1, 'fast', 'run-1'],
      [2, 'full', 'run-1'],
    ]);
    expect(currentVersion(harness.config.deployDir, site)).toBe(2);
  });

  it('numbers past versions the table knows even when their folders are gone', async () => {
    await compiled('full');
    await deploy('full', 'run-1');
    fs.rmSync(path.join(harness.config.deployDir, site), { recursive: true });
    expect((await deploy('full', 'run-2')).version).toBe(2);
  });

  it('tells the webhook after publishing and records that it was told', async () => {
    const target = await webhook(200);
    await compiled('full');
    const deployed = await deploy('full', 'run-1', { webhookUrl: target.url });
    await target.close();

    expect(target.bodies).toEqual([expect.objectContaining({ event: 'publish', site, version: 1, variant: 'full', sha256: deployed.sha256, path: deployed.path })]);
    expect((await rows())[0]).toMatchObject({ hook_status: 'ok', hook_error: null });
  });

  it('fails for good when the remote target fails every attempt, records why, and leaves the version published', async () => {
    const target = await webhook(503);
    await compiled('full');
    const failure = await deploy('full', 'run-1', { webhookUrl: target.url, hookAttempts: 3 }).catch((error: unknown) => error);
    await target.close();

    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'DeployHookFailed', nonRetryable: true });
    expect((failure as Error).message).toMatch(new RegExp(`^${site.replace('.', '\\.')} version 1 is published locally, but deploy hook webhook http://127\\.0\\.0\\.1:\\d+/deployed failed after 3 attempts: answered HTTP 503: bucket is read-only$`));
    expect(target.bodies).toHaveLength(3);
    expect((await rows())[0]).toMatchObject({ version: 1, hook_status: 'failed', hook_error: expect.stringContaining('answered HTTP 503') });
    expect(currentVersion(harness.config.deployDir, site)).toBe(1);
    const job = await harness.db.selectFrom('job_tracking').select(['status', 'error']).where('subdomain', '=', site).executeTakeFirstOrThrow();
    expect(job).toMatchObject({ status: 'failed', error: expect.stringContaining('failed after 3 attempts') });
  });
});
