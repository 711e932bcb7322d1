import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveDirectory } from '../../src/samples/static-server.js';
import { saveSite } from '../../src/sites/repository.js';
import { ENQUEUE_ALL_WORKFLOW_ID, queryFleetProgress } from '../../src/temporal/fleet-runs.js';
import { createSchedule, DEFAULT_MAX_SITES_IN_FLIGHT, deleteSchedule, describeSchedule, ensureSchedule, ScheduleRequestError, scheduleId, type ScheduleView } from '../../src/temporal/schedules.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { FleetRefreshCounts } from '../../src/workflows/fleet.js';
import { siteWorkflowId } from '../../src/workflows/types.js';
import { runClerk, type CliResult } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';


let harness: Harness;

/** The real `clerk` CLI in a child process, pointed at this test's database and Temporal server. */
function clerk(...args: string[]): Promise<CliResult> {
  return runClerk(args, harness.env);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Ends the sites' open runs (they cannot finish here: no fetch worker). */
async function endSiteRuns(subdomains: string[]): Promise<void> {
  for (const subdomain of subdomains) await harness.client.workflow.getHandle(siteWorkflowId(subdomain)).terminate('ended by the test').catch(() => {});
}

describe('clerk schedule: Temporal schedules that re-enqueue every site, oldest last success first', () => {
  // Schedule ids and site workflow ids are global on the shared dev server: both carry this run's suffix.
  let suffix: string;
  let cliName: string;
  let refreshName: string;
  let sites: { never: string; older: string; newer: string; running: string };
  let server: { url: string; close(): Promise<void> };
  let workers: { stop(): Promise<void> };

  beforeAll(async () => {
    harness = await createHarness('schedules');
    suffix = harness.env.CLERK_TASK_QUEUE_PREFIX!.replace(/^schedules-/, '').replace(/-$/, '');
    cliName = `cli-${suffix}`;
    refreshName = `refresh-${suffix}`;
    sites = { never: `never-${suffix}.ca`, older: `older-${suffix}.ca`, newer: `newer-${suffix}.ca`, running: `running-${suffix}.ca` };
    const siteDir = path.join(harness.dataDir, 'site');
    fs.mkdirSync(siteDir, { recursive: true });
    server = await serveDirectory(siteDir);
    for (const subdomain of Object.values(sites)) {
      await saveSite(harness.db, { subdomain, name: subdomain, fetcher: 'http-index', sourceUrl: `${server.url}/index.html` });
    }
    // Last successful runs: `older` two days ago, `newer` one; `never` has none.
    const day = 86_400_000;
    for (const [subdomain, ago] of [
      [sites.older, 2 * day],
      [sites.newer, day],
    ] as const) {
      const at = new Date(Date.now() - ago);
      await harness.db.insertInto('site_progress').values({ subdomain, current_stage: 'completed', started_at: at, finished_at: at }).execute();
    }
    // Only the workflows worker: site runs stay open at their fetch (no fetch worker), so they can be
    // inspected, and a site with a run open stays open while the refresh runs.
    workers = await harness.startWorkers(['workflows']);
  });

  afterAll(async () => {
    for (const name of [cliName, refreshName]) await deleteSchedule(harness.client, name).catch(() => {});
    await harness.client.workflow.getHandle(ENQUEUE_ALL_WORKFLOW_ID).terminate('test over').catch(() => {});
    for (const subdomain of Object.values(sites ?? {})) {
      await harness.client.workflow.getHandle(siteWorkflowId(subdomain)).terminate('test over').catch(() => {});
    }
    await workers?.stop();
    await server?.close();
    await harness?.close();
  });

  it('creates, lists, describes, pauses and unpauses a schedule through the CLI', async () => {
    const created = await clerk('schedule', 'create', cliName, '--cron', '0 2 * * *', '--spread', '4h', '--note', 'made by the test', '--json');
    expect(created.code, created.stderr).toBe(0);
    const view = JSON.parse(created.stdout) as ScheduleView;
    expect(view).toMatchObject({ name: cliName, scheduleId: `clerk/${cliName}`, cron: '0 2 * * *', spreadMs: 4 * 3_600_000, paused: false, note: 'made by the test', overlap: 'SKIP' });
    expect(new Date(view.nextRuns[0]!).getUTCHours()).toBe(2);

    const again = await clerk('schedule', 'create', cliName, '--cron', '0 3 * * *');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');
    const badCron = await clerk('schedule', 'create', `bad-${suffix}`, '--cron', 'every night please');
    expect(badCron.code, badCron.stderr).toBe(2);
    expect(badCron.stderr).toContain('invalid schedule');
    expect(() => scheduleId('Bad Name')).toThrow(ScheduleRequestError);

    // The list reads Temporal's visibility store, which shows a new schedule a moment later.
    const listed = await until('the schedule in the list', async () => {
      const list = await clerk('schedule', 'list', '--json');
      expect(list.code, list.stderr).toBe(0);
      return (JSON.parse(list.stdout) as { schedules: ScheduleView[] }).schedules.find((s) => s.name === cliName);
    });
    expect(listed).toMatchObject({ cron: '0 2 * * *', spreadMs: 4 * 3_600_000, paused: false });

    const paused = await clerk('schedule', 'pause', cliName, '--note', 'maintenance');
    expect(paused.code, paused.stderr).toBe(0);
    let described = JSON.parse((await clerk('schedule', 'describe', cliName, '--json')).stdout) as ScheduleView;
    expect(described).toMatchObject({ paused: true, note: 'maintenance' });
    const text = await clerk('schedule', 'describe', cliName);
    expect(text.stdout).toContain('PAUSED');
    expect(text.stdout).toContain('0 2 * * *');

    expect((await clerk('schedule', 'unpause', cliName)).code).toBe(0);
    described = JSON.parse((await clerk('schedule', 'describe', cliName, '--json')).stdout) as ScheduleView;
    expect(described.paused).toBe(false);

    // Each CLI call is a process start: two verbs stand for the rest (they share one lookup).
    for (const verb of ['describe', 'trigger']) {
      const unknown = await clerk('schedule', verb, `nope-${suffix}`);
      expect(unknown.code, `${verb}: ${unknown.stderr}`).toBe(2);
      expect(unknown.stderr).toContain(`no schedule named nope-${suffix}`);
    }
  });

  it('trigger runs the refresh now: oldest last successful run first, spread out, a running site left alone', async () => {
    // Already running before the refresh: its run must be returned, not started again.
    const runningRun = await enqueueSite(harness.client, harness.config, sites.running);
    expect(runningRun.started).toBe(true);

    // One site per batch over 2.4 s: four batches 600 ms apart.
    await createSchedule(harness.client, harness.config, { name: refreshName, cron: '0 2 * * *', spreadMs: 2_400, batchSize: 1 });
    const triggered = await clerk('schedule', 'trigger', refreshName);
    expect(triggered.code, triggered.stderr).toBe(0);

    const action = await until('the triggered refresh', async () => (await describeSchedule(harness.client, refreshName)).recentActions[0]);
    expect(action.workflowId).toMatch(new RegExp(`^fleet/${refreshName}`));
    // Every site enqueued: the site runs stay open at their fetch here (no fetch worker), and the
    // refresh (bounded, as every schedule's is now) ends only with them, so they are checked open.
    await until('every site enqueued', async () => ((await queryFleetProgress(harness.client, action.workflowId))?.enqueued === 4 ? true : undefined));

    // The site that was running keeps its run.
    const running = await harness.client.workflow.getHandle(siteWorkflowId(sites.running)).describe();
    expect(running.runId).toBe(runningRun.runId);
    expect(running.status.name).toBe('RUNNING');

    // The started runs, by start time: never run first, then the oldest success.
    const starts = await Promise.all(
      [sites.never, sites.older, sites.newer].map(async (subdomain) => {
        const d = await harness.client.workflow.getHandle(siteWorkflowId(subdomain)).describe();
        return { subdomain, startTime: d.startTime.getTime() };
      }),
    );
    starts.sort((a, b) => a.startTime - b.startTime);
    expect(starts.map((s) => s.subdomain)).toEqual([sites.never, sites.older, sites.newer]);
    // Spread: batches on a 600 ms grid from the refresh's start (`running`, already open, took a slot),
    // each started a little after its slot (the activity's dispatch and client connection).
    const gaps = starts.slice(1).map((s, i) => s.startTime - starts[i]!.startTime);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(300);

    await endSiteRuns(Object.values(sites));
    const counts = (await harness.client.workflow.getHandle(action.workflowId).result()) as FleetRefreshCounts;
    expect(counts).toEqual({ sites: 4, started: 3, alreadyRunning: 1, failed: 0 });

    const described = JSON.parse((await clerk('schedule', 'describe', refreshName, '--json')).stdout) as ScheduleView;
    expect(described.recentActions.map((a) => a.workflowId)).toContain(action.workflowId);
    expect(described.maxSitesInFlight).toBe(DEFAULT_MAX_SITES_IN_FLIGHT);
  });

  it('enqueue --all keeps at most --max-in-flight sites in a run, and ends with its last site run', async () => {
    expect((await clerk('enqueue')).code).toBe(2);
    expect((await clerk('enqueue', '--all', sites.never)).code).toBe(2);

    const enqueued = await clerk('enqueue', '--all', '--max-in-flight', '2', '--json');
    expect(enqueued.code, enqueued.stderr).toBe(0);
    const refresh = JSON.parse(enqueued.stdout) as { workflowId: string; runId: string; started: boolean };
    expect(refresh).toMatchObject({ workflowId: ENQUEUE_ALL_WORKFLOW_ID, started: true });
    const again = JSON.parse((await clerk('enqueue', '--all', '--json')).stdout) as { runId: string; started: boolean };
    expect(again).toEqual(expect.objectContaining({ runId: refresh.runId, started: false }));

    const everySite = Object.values(sites);
    const openRuns = async () => {
      const open: string[] = [];
      for (const subdomain of everySite) {
        const d = await harness.client.workflow.getHandle(siteWorkflowId(subdomain)).describe();
        if (d.status.name === 'RUNNING') open.push(subdomain);
      }
      return open;
    };
    const progress = () => queryFleetProgress(harness.client, refresh.workflowId);
    // The site runs never get past their fetch here: the refresh stops at two until one closes.
    await until('two sites enqueued', async () => ((await progress())?.enqueued === 2 ? true : undefined));
    for (let look = 0; look < 6; look++) {
      expect((await progress())?.enqueued).toBe(2);
      expect(await openRuns()).toHaveLength(2);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await endSiteRuns([(await openRuns())[0]!]);
    await until('a third site enqueued', async () => ((await progress())?.enqueued === 3 ? true : undefined));
    expect(await openRuns()).toHaveLength(2);
    await endSiteRuns(await openRuns());
    await until('the fourth site enqueued', async () => ((await progress())?.enqueued === 4 ? true : undefined));
    await endSiteRuns(await openRuns());
    const counts = (await harness.client.workflow.getHandle(refresh.workflowId, refresh.runId).result()) as FleetRefreshCounts;
    expect(counts).toEqual({ sites: 4, started: 4, alreadyRunning: 0, failed: 0 });
  });

  it('delete --dry-run changes nothing; delete --yes removes the schedule', async () => {
    const dry = await clerk('schedule', 'delete', cliName, '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would delete schedule ${cliName}`);
    expect((await describeSchedule(harness.client, cliName)).name).toBe(cliName);

    // Without --yes and without a terminal, it refuses.
    const refused = await clerk('schedule', 'delete', cliName);
    expect(refused.code).toBe(2);
    expect((await describeSchedule(harness.client, cliName)).name).toBe(cliName);

    const deleted = await clerk('schedule', 'delete', cliName, '--yes');
    expect(deleted.code, deleted.stderr).toBe(0);
    const gone = await clerk('schedule', 'describe', cliName);
    expect(gone.code).toBe(2);
  });

  it("ensureSchedule (what `clerk dev up` runs for nightly-refresh) creates a missing schedule once and keeps an existing one as it is", async () => {
    const name = `ensure-${suffix}`;
    try {
      expect(await ensureSchedule(harness.client, harness.config, { name, cron: '0 2 * * *', spreadMs: 3_600_000 })).toBe(true);
      expect(await ensureSchedule(harness.client, harness.config, { name, cron: '0 5 * * *', spreadMs: 60_000 })).toBe(false);
      expect(await describeSchedule(harness.client, name)).toMatchObject({ cron: '0 2 * * *', spreadMs: 3_600_000 });
    } finally {
      await deleteSchedule(harness.client, name).catch(() => {});
    }
  });
});
