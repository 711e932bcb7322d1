/**
 * Tries every platform fetcher the way a new user would, through the CLI only: with the local
 * stack up (`clerk dev up`) and the platform fixtures served (`clerk dev fixtures`, which writes
 * $CLERK_DATA_DIR/fixtures.json), it runs for each platform
 *
 *   clerk site add <the fixture's line>
 *   clerk site discover <subdomain> --json      (must list exactly the fixture's documents)
 *   clerk enqueue <subdomain> --wait --json     (must complete)
 *   clerk enqueue <subdomain> --wait --json     (again: the incremental run)
 *
 * and prints a table of meetings and documents found and the seconds each step took. Exit code 1
 * when any platform does not hold. Used by .ci/run as a smoke test; see README "Real sites".
 *
 *   npx tsx scripts/try-platforms.ts [--json]
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../src/config/index.js';

const run = promisify(execFile);
const clerk = path.resolve(import.meta.dirname, '..', 'bin', 'clerk.mjs');

interface FixtureSummary {
  subdomain: string;
  fetcher: string;
  siteAdd: string[];
  documents: number;
  meetings: number;
  rejected: number;
}

interface PlatformResult {
  fetcher: string;
  subdomain: string;
  meetings: number;
  documents: number;
  rejected: number;
  discoverSeconds: number;
  firstRunSeconds: number;
  secondRunSeconds: number;
  ok: boolean;
  problem?: string;
}

async function timed(args: string[]): Promise<{ stdout: string; stderr: string; seconds: number }> {
  const started = performance.now();
  const { stdout, stderr } = await run(process.execPath, [clerk, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return { stdout, stderr, seconds: (performance.now() - started) / 1000 };
}

async function tryPlatform(fixture: FixtureSummary): Promise<PlatformResult> {
  const result: PlatformResult = { fetcher: fixture.fetcher, subdomain: fixture.subdomain, meetings: 0, documents: 0, rejected: 0, discoverSeconds: 0, firstRunSeconds: 0, secondRunSeconds: 0, ok: false };
  try {
    await timed(fixture.siteAdd.slice(1));
    const discover = await timed(['site', 'discover', fixture.subdomain, '--json']);
    const documents = JSON.parse(discover.stdout) as { meeting: string; date: string }[];
    result.discoverSeconds = discover.seconds;
    result.documents = documents.length;
    result.meetings = new Set(documents.map((d) => `${d.meeting}|${d.date}`)).size;
    result.rejected = (JSON.parse(discover.stderr.trim().split('\n').at(-1) ?? '{}') as { rejected?: unknown[] }).rejected?.length ?? 0;
    if (result.documents !== fixture.documents || result.rejected !== fixture.rejected) {
      throw new Error(`discover listed ${result.documents} documents and rejected ${result.rejected}; the fixture has ${fixture.documents} and ${fixture.rejected}`);
    }
    result.firstRunSeconds = (await timed(['enqueue', fixture.subdomain, '--wait', '--json'])).seconds;
    result.secondRunSeconds = (await timed(['enqueue', fixture.subdomain, '--wait', '--json'])).seconds;
    result.ok = true;
  } catch (error) {
    const failed = error as Error & { stderr?: string };
    result.problem = (failed.stderr?.trim() || failed.message).split('\n').slice(-3).join(' ');
  }
  return result;
}

const config = loadConfig();
const summaryFile = path.join(config.dataDir, 'fixtures.json');
if (!fs.existsSync(summaryFile)) {
  console.error(`${summaryFile} is missing: start the fixtures first with \`clerk dev fixtures\``);
  process.exit(2);
}
const fixtures = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as FixtureSummary[];
const results: PlatformResult[] = [];
for (const fixture of fixtures) results.push(await tryPlatform(fixture));

if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
else {
  console.log('platform    meetings  documents  rejected  discover s  first run s  second run s  ok');
  for (const r of results) {
    console.log(
      `${r.fetcher.padEnd(11)} ${String(r.meetings).padStart(8)}  ${String(r.documents).padStart(9)}  ${String(r.rejected).padStart(8)}  ${r.discoverSeconds.toFixed(2).padStart(10)}  ${r.firstRunSeconds.toFixed(2).padStart(11)}  ${r.secondRunSeconds.toFixed(2).padStart(12)}  ${r.ok ? 'yes' : `NO: ${r.problem}`}`,
    );
  }
  console.log(`platforms tried: ${results.length}; completed end to end: ${results.filter((r) => r.ok).length}`);
}
process.exit(results.every((r) => r.ok) ? 0 : 1);
