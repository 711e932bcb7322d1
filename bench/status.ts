import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../src/config/index.js';
import { connectDatabase } from '../src/db/connect.js';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { startTemporalDevServer } from '../src/dev/temporal-server.js';
import { activeStages } from '../src/progress/fleet-status.js';
import { makeTextPdf } from '../src/samples/pdf-builder.js';
import { documentPath, renderIndexPage } from '../src/samples/sample-site.js';
import { serveDirectory } from '../src/samples/static-server.js';
import { LocalFolderStore } from '../src/storage/local-folder-store.js';
import { enqueueSite } from '../src/temporal/site-runs.js';
import { createWorkers, runWorkers } from '../src/workers/create.js';
import type { BenchOutcome, Log } from './run.js';
import { removeAtExit, withCleanup } from './support/corpus.js';
import { round } from './support/metrics.js';

const projectRoot = fileURLToPath(new URL('../', import.meta.url));
/** The benchmark's own build of the CLI, inside the project (for node_modules) and git-ignored. */
const BUILD_DIR = '.clerk/bench-status-build';
export const clerkBin = path.join(projectRoot, 'bin/clerk.mjs');
/** The environment under which bin/clerk.mjs runs the benchmarks' own build of the CLI. */
export const cliBuildEnv: NodeJS.ProcessEnv = { ...process.env, CLERK_BUILD_DIR: BUILD_DIR };

/**
 * Builds the CLI into the benchmarks' own build folder if a source changed since the last build,
 * so every timed run is of the compiled CLI. True when it built.
 */
export function ensureCliBuilt(log: Log): boolean {
  const build = spawnSync(process.execPath, [path.join(projectRoot, 'bin/build.mjs'), '--if-stale'], { cwd: projectRoot, encoding: 'utf8', env: cliBuildEnv });
  if (build.status !== 0) throw new Error(`bin/build.mjs failed: ${build.stderr}`);
  const built = !/up to date/.test(build.stdout);
  if (built) log(`clerk build: ${build.stdout.trim()}`);
  return built;
}

/** Timed runs of each command; the median is reported. */
const RUNS = 9;
/** `clerk status <site>` must answer within this (issue 18, item 10). */
const SITE_STATUS_BUDGET_MS = 500;
/** `clerk --help` must start within this. */
const HELP_BUDGET_MS = 300;

/**
 * (f) `clerk status` latency on a large fleet. Registers `sites` sites (default 1,000) in a
 * throwaway Postgres, starts `active` (default 100) of them on a Temporal dev server where only the
 * workflows and fetch workers run, so every run fetches its document and then waits in the OCR
 * stage (its site_progress row active, its workflow open and answering the status query), and times
 * the compiled CLI end to end: `clerk status` (the fleet) and `clerk status <site> --json`, each
 * the median of several runs, against `node -e 0` and `clerk --help` started the same way.
 */
export async function statusLatency(options: { sites: number; active: number; log: Log }): Promise<BenchOutcome> {
  const { log } = options;
  const problems: string[] = [];
  /** Builds made between rounds, because a source changed while the benchmark ran. */
  let rebuilds = 0;
  const buildEnv = cliBuildEnv;
  // The CLI is timed compiled, from a build of its own (git-ignored): a build made now, and rebuilt
  // between rounds if a source changes meanwhile, so every timed run is of the compiled CLI.
  const ensureBuilt = () => ensureCliBuilt(log);
  ensureBuilt();

  return withCleanup(async (defer) => {
    Runtime.install({ logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error(m: string) { console.error(m); } } });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-bench-status-'));
    fs.chmodSync(root, 0o755);
    const forget = removeAtExit(root);
    defer(async () => {
      fs.rmSync(root, { recursive: true, force: true });
      forget();
    });
    const port = 56000 + Math.floor(Math.random() * 3000);
    const postgres = await startEmbeddedPostgres({ dataDir: path.join(root, 'postgres'), port });
    defer(() => postgres.stop());
    const bootConfig = loadConfig({ CLERK_DATA_DIR: root, DATABASE_URL: postgres.url, TEMPORAL_ADDRESS: '127.0.0.1:0' }, root);
    const temporal = await startTemporalDevServer(bootConfig, { persist: false, port: 0, uiPort: port + 1 });
    defer(() => temporal.stop());
    const env = { CLERK_DATA_DIR: root, DATABASE_URL: postgres.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_UI_PORT: String(port + 1), CLERK_TASK_QUEUE_PREFIX: 'bench-status-' };
    const config = loadConfig(env, root);
    const db = connectDatabase(postgres.url, { maxConnections: 10 });
    defer(() => db.destroy());
    await migrateToLatest(db);

    // Every site reads the same one-document listing: fetched in a moment, then its reading waits on the OCR queue.
    const siteDir = path.join(root, 'site');
    const listing = { kind: 'minutes' as const, meeting: 'City Council', date: '2026-01-15' };
    const pdfPath = path.join(siteDir, ...documentPath(listing).split('/'));
    fs.mkdirSync(path.dirname(pdfPath), { recursive: true });
    fs.writeFileSync(pdfPath, await makeTextPdf([['Regular meeting.', 'Motion by Council Member Ortiz to approve the minutes.'], ['The motion carried 3-0.']], 'City Council Minutes'));
    fs.writeFileSync(path.join(siteDir, 'index.html'), renderIndexPage('Benchville', [{ ...listing, path: documentPath(listing) }]));
    const server = await serveDirectory(siteDir);
    defer(() => server.close());
    const subdomains = Array.from({ length: options.sites }, (_, i) => `site${String(i).padStart(4, '0')}.bench`);
    log(`status: registering ${options.sites} sites`);
    for (let i = 0; i < subdomains.length; i += 500) {
      await db
        .insertInto('sites')
        .values(subdomains.slice(i, i + 500).map((subdomain) => ({ subdomain, name: subdomain, fetcher: 'http-index', source_url: `${server.url}/index.html`, settings: '{}', allowed_hosts: '[]' })))
        .execute();
    }

    // Workflows and fetch only: no OCR worker, so the runs wait in the OCR stage.
    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    const running = await createWorkers({ config, connection: nativeConnection, deps: { db, store: new LocalFolderStore(config.storageDir), config }, types: ['workflows', 'fetch'] });
    const workersDone = runWorkers(running);
    defer(async () => {
      for (const worker of running.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await workersDone;
      await nativeConnection.close();
    });
    const connection = await Connection.connect({ address: temporal.address });
    defer(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const active = subdomains.slice(0, options.active);
    log(`status: starting ${active.length} site runs`);
    await Promise.all(active.map((subdomain) => enqueueSite(client, config, subdomain)));
    const waitStarted = Date.now();
    for (;;) {
      const { waiting } = await db
        .selectFrom('site_progress')
        .select((eb) => eb.fn.countAll<number>().as('waiting'))
        .where('current_stage', '=', 'ocr')
        .executeTakeFirstOrThrow();
      if (Number(waiting) === active.length) break;
      if (Date.now() - waitStarted > 300_000) throw new Error(`only ${waiting} of ${active.length} runs reached the OCR stage in 5 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    log(`status: ${active.length} runs wait in OCR after ${((Date.now() - waitStarted) / 1000).toFixed(1)} s; timing the CLI`);

    const site = active[Math.floor(active.length / 2)]!;
    const commands = {
      nodeStart: [process.execPath, ['-e', '0']],
      help: [process.execPath, [clerkBin, '--help']],
      fleet: [process.execPath, [clerkBin, 'status']],
      fleetJson: [process.execPath, [clerkBin, 'status', '--json']],
      site: [process.execPath, [clerkBin, 'status', site, '--json']],
    } as const;
    const timings: Record<string, number[]> = {};
    const outputs: Record<string, string> = {};
    // Interleaved rounds: a load spike hits every command alike, not one command's runs.
    for (let round_ = 0; round_ <= RUNS; round_++) {
      if (ensureBuilt()) rebuilds++;
      for (const [name, [file, args]] of Object.entries(commands)) {
        const run = await timed(file, [...args], { ...buildEnv, ...env, CLERK_CLI_TRACE: '1' });
        if (run.code !== 0) problems.push(`${name}: exit code ${run.code}: ${run.stderr.slice(0, 300)}`);
        if (name !== 'nodeStart' && !/running the compiled CLI/.test(run.stderr)) problems.push(`${name}: did not run the compiled CLI (${run.stderr.split('\n')[0]})`);
        // The first round warms the file cache and is not counted.
        if (round_ > 0) (timings[name] ??= []).push(run.ms);
        outputs[name] = run.stdout;
      }
    }
    const median = Object.fromEntries(Object.entries(timings).map(([name, ms]) => [name, medianOf(ms)]));

    // What the screens said must be what the fleet is.
    const fleet = JSON.parse(outputs.fleetJson!) as { active: { subdomain: string; stage: string }[]; sites: { registered: number }; taskQueues: { role: string; kinds: Record<string, { pollers: number; backlog: number }> }[] };
    if (fleet.sites.registered !== options.sites) problems.push(`status --json: ${fleet.sites.registered} sites registered, expected ${options.sites}`);
    if (fleet.active.length !== active.length || fleet.active.some((s) => !activeStages.includes(s.stage as never))) problems.push(`status --json: ${fleet.active.length} active sites, expected ${active.length}`);
    const ocr = fleet.taskQueues.find((q) => q.role === 'ocr')?.kinds.activity;
    if (!ocr || ocr.pollers !== 0) problems.push(`status --json: the OCR queue should have no poller, has ${ocr?.pollers}`);
    const siteReport = JSON.parse(outputs.site!) as { subdomain: string; workflowStatus: string; stage: string; query: unknown };
    if (siteReport.workflowStatus !== 'RUNNING' || siteReport.stage !== 'ocr') problems.push(`status ${site}: ${siteReport.workflowStatus} in ${siteReport.stage}, expected RUNNING in ocr`);
    if (siteReport.query === null) problems.push(`status ${site}: no worker answered the status query`);
    const fleetLines = outputs.fleet!.split('\n').filter((line) => /^ {2}site\d{4}\.bench: ocr \(/.test(line)).length;
    if (fleetLines !== active.length) problems.push(`status: ${fleetLines} lines "site: ocr (n/m, p%)", expected ${active.length}`);

    const ratio = median.help! / median.site!;
    return {
      benchmark: 'status',
      sizes: { sites: options.sites, activeSites: active.length, runs: RUNS },
      metrics: {
        nodeStartMedianMs: round(median.nodeStart!, 1),
        helpMedianMs: round(median.help!, 1),
        fleetStatusMedianMs: round(median.fleet!, 1),
        fleetStatusJsonMedianMs: round(median.fleetJson!, 1),
        siteStatusJsonMedianMs: round(median.site!, 1),
        siteStatusWithinBudget: median.site! <= SITE_STATUS_BUDGET_MS,
        helpWithinBudget: median.help! <= HELP_BUDGET_MS,
        fleetOverNodeStart: round(median.fleet! / median.nodeStart!, 2),
        siteOverNodeStart: round(median.site! / median.nodeStart!, 2),
        siteOverHelp: round(median.site! / median.help!, 2),
        fleetOverHelp: round(median.fleet! / median.help!, 2),
        siteStatusMaxMs: round(Math.max(...timings.site!), 1),
        rebuildsDuringRun: rebuilds,
        fleetStatusMaxMs: round(Math.max(...timings.fleet!), 1),
      },
      ratio: {
        value: round(ratio, 3),
        target: '>= 0.5',
        meets: ratio >= 0.5,
        definition: `median wall time of \`clerk --help\` / median of \`clerk status <site> --json\` (compiled CLI, a fresh process each, ${RUNS} runs; 0.5: a status costs at most twice a bare start of the CLI). Absolute budgets: status <site> <= ${SITE_STATUS_BUDGET_MS} ms, --help <= ${HELP_BUDGET_MS} ms`,
      },
      ok: problems.length === 0,
      notes: [
        `fleet: ${options.sites} registered sites, ${active.length} runs open and waiting in OCR (workflows and fetch workers, no OCR worker), task-queue prefix ${env.CLERK_TASK_QUEUE_PREFIX}`,
        `each timing: \`node bin/clerk.mjs ...\` from spawn to exit, Postgres and Temporal on loopback; interleaved rounds, the first (warm-up) not counted`,
        ...problems.map((p) => `PROBLEM: ${p}`),
      ],
    };
  });
}

/** Runs a command to its exit: wall time from spawn to exit, in milliseconds, with its exit code and output. */
export function timed(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number; stdout: string; stderr: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(file, args, { env, cwd: projectRoot, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      resolve({ ms: performance.now() - started, code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

export function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
