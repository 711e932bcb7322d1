import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { compileArchive, type ArchivePage } from '../../src/archive/compile.js';
import { currentArchivePath, currentVersion, deployedSites, readDeploymentManifest, versionDir } from '../../src/deploy/layout.js';
import { publishArchive, type PublishRequest } from '../../src/deploy/publish.js';
import { applyRollback, ArchiveIntegrityError, DeployRequestError, NothingToRollBackError, planRollback, pruneVersions } from '../../src/deploy/versions.js';

const SITE = 'alameda.ca';
let root: string;
let deployDir: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-'));
  deployDir = path.join(root, 'deploy');
});

async function* pagesOf(pages: ArchivePage[]): AsyncGenerator<ArchivePage> {
  yield* pages;
}

const vote = (mover: string) => ({
  motion_by: mover,
  seconded_by: 'Chen',
  result: 'passed',
  tally: { ayes: 5, nays: 0, abstain: 0, absent: 0 },
  individual_votes: [],
});

/** A compiled archive whose first minutes page says `marker`: 2 minutes pages, 1 agenda page, 5 entities, 3 votes. */
async function archive(marker: string): Promise<string> {
  const file = path.join(root, `built-${marker}.db`);
  await compileArchive(
    file,
    pagesOf([
      { kind: 'minutes', meeting: 'CityCouncil', date: '2026-01-05', page: 1, text: `${marker} bicycle lanes on Park Street`, entities: { persons: ['Ortiz', 'Chen'], orgs: ['Planning Board'], locations: ['Park Street'] }, votes: [vote('Ortiz'), vote('Chen')] },
      { kind: 'minutes', meeting: 'CityCouncil', date: '2026-01-05', page: 2, text: 'Public comment on the ferry terminal.', entities: { persons: ['Reyes'], orgs: [], locations: [] }, votes: [vote('Reyes')] },
      { kind: 'agenda', meeting: 'PlanningBoard', date: '2026-01-12', page: 1, text: 'Item 4: ferry terminal parking study.' },
    ]),
  );
  return file;
}

function request(sourcePath: string, overrides: Partial<PublishRequest> = {}): PublishRequest {
  return { sourcePath, deployDir, subdomain: SITE, variant: 'full', runId: `run-${path.basename(sourcePath)}`, keep: 5, ...overrides };
}

/** What a reader opening the stable path (`clerk search`, old tools) finds on the first minutes page. */
function markerAt(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT text FROM minutes WHERE page = 1').get() as { text: string }).text.split(' ')[0]!;
  } finally {
    db.close();
  }
}

const siteDir = () => path.join(deployDir, SITE);
const stablePath = () => path.join(siteDir(), 'meetings.db');
const versionsOnDisk = () => fs.readdirSync(path.join(siteDir(), 'versions')).sort((a, b) => Number(a) - Number(b));

describe('publishArchive', () => {
  it('publishes version 1 with its manifest, points current at it, and links meetings.db through current', async () => {
    const source = await archive('FIRST');
    const published = await publishArchive(request(source, { runId: 'run-a', now: () => new Date('2026-12-03T10:00:00Z') }));

    expect(published).toMatchObject({ version: 1, variant: 'full', pages: 3, entities: 5, votes: 3, minutesRows: 2, agendaRows: 1, reused: false, current: true });
    expect(published.path).toBe(path.join(siteDir(), 'versions', '1', 'meetings.db'));
    expect(fs.readFileSync(published.path)).toEqual(fs.readFileSync(source));
    expect(readDeploymentManifest(versionDir(deployDir, SITE, 1))).toEqual({
      subdomain: SITE,
      version: 1,
      variant: 'full',
      sha256: published.sha256,
      byteSize: fs.statSync(source).size,
      pages: 3,
      entities: 5,
      votes: 3,
      publishedAt: '2026-12-03T10:00:00.000Z',
      runId: 'run-a',
    });
    expect(fs.readlinkSync(path.join(siteDir(), 'current'))).toBe('versions/1');
    expect(fs.readlinkSync(stablePath())).toBe('current/meetings.db');
    expect(markerAt(stablePath())).toBe('FIRST');
    // Nothing else is left in the folders: no staging file, no reservation, no temporary link.
    expect(fs.readdirSync(siteDir()).sort()).toEqual(['current', 'meetings.db', 'versions']);
    expect(fs.readdirSync(versionDir(deployDir, SITE, 1)).sort()).toEqual(['deployment.json', 'meetings.db']);
  });

  it('publishes each new archive as the next version, and a reader holding the old one keeps reading it', async () => {
    await publishArchive(request(await archive('FIRST')));
    const reader = new Database(stablePath(), { readonly: true });
    const second = await publishArchive(request(await archive('SECOND')));

    expect(second.version).toBe(2);
    expect(markerAt(stablePath())).toBe('SECOND');
    expect((reader.prepare('SELECT text FROM minutes WHERE page = 1').get() as { text: string }).text).toMatch(/^FIRST/);
    reader.close();
    expect(versionsOnDisk()).toEqual(['1', '2']);
    expect(currentArchivePath(deployDir, SITE)).toBe(second.path);
  });

  it('replaces the plain meetings.db of a site deployed before versioning with the symlink', async () => {
    fs.mkdirSync(siteDir(), { recursive: true });
    fs.copyFileSync(await archive('LEGACY'), stablePath());
    expect(currentArchivePath(deployDir, SITE)).toBe(stablePath());

    await publishArchive(request(await archive('VERSIONED')));

    expect(fs.lstatSync(stablePath()).isSymbolicLink()).toBe(true);
    expect(markerAt(stablePath())).toBe('VERSIONED');
  });

  it('gives a retry of the same run and variant the version it already published, and the other variant a new one', async () => {
    const source = await archive('FIRST');
    const first = await publishArchive(request(source, { runId: 'run-a', variant: 'fast' }));
    const retry = await publishArchive(request(source, { runId: 'run-a', variant: 'fast' }));
    const full = await publishArchive(request(source, { runId: 'run-a', variant: 'full' }));

    expect(first).toMatchObject({ version: 1, reused: false });
    expect(retry).toMatchObject({ version: 1, reused: true, sha256: first.sha256, publishedAt: first.publishedAt, minutesRows: 2, agendaRows: 1 });
    expect(full).toMatchObject({ version: 2, variant: 'full', reused: false });
    expect(versionsOnDisk()).toEqual(['1', '2']);
  });

  it('finishes the version an attempt reserved and died in, instead of taking another number', async () => {
    const folder = versionDir(deployDir, SITE, 1);
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'publishing.json'), JSON.stringify({ runId: 'run-a', variant: 'full', startedAt: '2026-12-03T10:00:00Z' }));
    fs.writeFileSync(path.join(folder, '.meetings.db.dead.staging'), 'half a copy');

    const published = await publishArchive(request(await archive('FIRST'), { runId: 'run-a' }));

    expect(published).toMatchObject({ version: 1, current: true });
    expect(fs.readdirSync(folder).sort()).toEqual(['deployment.json', 'meetings.db']);
  });

  it('never reuses a version number: it counts past versions the deployments table knows', async () => {
    const published = await publishArchive(request(await archive('FIRST'), { highestKnownVersion: 7 }));
    expect(published.version).toBe(8);
    expect(currentVersion(deployDir, SITE)).toBe(8);
  });

  it('never moves current back: a retried older publication settles without replacing a newer current version', async () => {
    await publishArchive(request(await archive('FAST'), { runId: 'run-a', variant: 'fast' }));
    await publishArchive(request(await archive('FULL'), { runId: 'run-a', variant: 'full' }));
    const retried = await publishArchive(request(await archive('FAST'), { runId: 'run-a', variant: 'fast' }));

    expect(retried).toMatchObject({ version: 1, reused: true, current: false });
    expect(markerAt(stablePath())).toBe('FULL');
  });

  it('keeps the newest versions and prunes older ones after the switch', async () => {
    for (const marker of ['ONE', 'TWO', 'THREE', 'FOUR']) await publishArchive(request(await archive(marker), { keep: 2 }));
    expect(versionsOnDisk()).toEqual(['3', '4']);
    expect(markerAt(stablePath())).toBe('FOUR');
  });

  it('never publishes a file that is not an archive: nothing changes and no folder stays behind', async () => {
    await publishArchive(request(await archive('GOOD')));
    const broken = path.join(root, 'broken.db');
    fs.writeFileSync(broken, 'this is not a SQLite database at all, just some bytes '.repeat(100));

    await expect(publishArchive(request(broken))).rejects.toThrow(/not a database|file is not/i);

    expect(versionsOnDisk()).toEqual(['1']);
    expect(markerAt(stablePath())).toBe('GOOD');
  });

  it('streams the copy: publishing a 384 MiB archive grows the peak memory of the process by far less than its size', async () => {
    const source = await archive('HUGE');
    // SQLite reads its page count from the header: the zeros after it are ignored, and the file is sparse.
    const size = 384 * 1024 * 1024;
    fs.truncateSync(source, size);
    const peakBefore = process.resourceUsage().maxRSS * 1024;

    const published = await publishArchive(request(source));

    const peakGrowth = process.resourceUsage().maxRSS * 1024 - peakBefore;
    expect(published.byteSize).toBe(size);
    expect(published.pages).toBe(3);
    expect(fs.statSync(published.path).size).toBe(size);
    expect(peakGrowth).toBeLessThan(size / 8);
  });
});

describe('pruneVersions', () => {
  it('always keeps the current version, however old', async () => {
    for (const marker of ['ONE', 'TWO', 'THREE']) await publishArchive(request(await archive(marker)));
    await applyRollback(deployDir, await planRollback(deployDir, SITE, 1));

    expect(await pruneVersions(deployDir, SITE, 1)).toEqual([2]);
    expect(versionsOnDisk()).toEqual(['1', '3']);
    expect(markerAt(stablePath())).toBe('ONE');
  });

  it('leaves a version another publication is still writing, and removes one abandoned for a day', async () => {
    await publishArchive(request(await archive('ONE')));
    for (const version of [2, 3]) {
      fs.mkdirSync(versionDir(deployDir, SITE, version));
      fs.writeFileSync(path.join(versionDir(deployDir, SITE, version), 'publishing.json'), '{}');
    }
    const dayAgo = new Date(Date.now() - 25 * 60 * 60 * 1000);
    fs.utimesSync(path.join(versionDir(deployDir, SITE, 2), 'publishing.json'), dayAgo, dayAgo);

    expect(await pruneVersions(deployDir, SITE, 1)).toEqual([]);
    expect(versionsOnDisk()).toEqual(['1', '3']);
  });
});

describe('rollback', () => {
  beforeEach(async () => {
    for (const marker of ['ONE', 'TWO', 'THREE']) await publishArchive(request(await archive(marker)));
  });

  it('switches current to the newest kept version older than current, after checking its sha256', async () => {
    const plan = await planRollback(deployDir, SITE);
    expect(plan).toMatchObject({ from: 3, to: 2, manifest: { version: 2 } });
    expect(currentVersion(deployDir, SITE)).toBe(3);

    await applyRollback(deployDir, plan);

    expect(fs.readlinkSync(path.join(siteDir(), 'current'))).toBe('versions/2');
    expect(markerAt(stablePath())).toBe('TWO');
    expect((await planRollback(deployDir, SITE)).to).toBe(1);
  });

  it('switches to the version --to names, forward as well as back', async () => {
    await applyRollback(deployDir, await planRollback(deployDir, SITE, 1));
    await applyRollback(deployDir, await planRollback(deployDir, SITE, 3));
    expect(markerAt(stablePath())).toBe('THREE');
  });

  it('refuses a version that is not on disk, or is already current, as a bad request', async () => {
    await expect(planRollback(deployDir, SITE, 9)).rejects.toThrow(new DeployRequestError(`${SITE} version 9 is not on disk (pruned, or never published); versions kept: 1, 2, 3`));
    await expect(planRollback(deployDir, SITE, 3)).rejects.toThrow(DeployRequestError);
    await expect(planRollback(deployDir, 'other.ca')).rejects.toThrow(/other\.ca has no versioned deployment/);
  });

  it('has nothing to roll back to at the oldest kept version', async () => {
    await applyRollback(deployDir, await planRollback(deployDir, SITE, 1));
    await expect(planRollback(deployDir, SITE)).rejects.toThrow(NothingToRollBackError);
  });

  it('refuses a version whose meetings.db no longer matches its manifest, and changes nothing', async () => {
    const file = path.join(versionDir(deployDir, SITE, 2), 'meetings.db');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    fs.writeFileSync(file, bytes);

    await expect(planRollback(deployDir, SITE)).rejects.toThrow(ArchiveIntegrityError);
    await expect(planRollback(deployDir, SITE)).rejects.toThrow(/version 2: meetings\.db has sha256 [0-9a-f]{64}, its deployment\.json says [0-9a-f]{64}/);
    expect(currentVersion(deployDir, SITE)).toBe(3);
  });
});

describe('readers of the deploy folder', () => {
  it('find the current archive of each deployed site, versioned or from before', async () => {
    await publishArchive(request(await archive('ONE')));
    fs.mkdirSync(path.join(deployDir, 'berkeley.ca'));
    fs.copyFileSync(await archive('LEGACY'), path.join(deployDir, 'berkeley.ca', 'meetings.db'));
    fs.mkdirSync(path.join(deployDir, 'empty.ca'));

    expect(deployedSites(deployDir)).toEqual([SITE, 'berkeley.ca'].sort());
    expect(currentArchivePath(deployDir, SITE)).toBe(path.join(deployDir, SITE, 'versions', '1', 'meetings.db'));
    expect(currentArchivePath(deployDir, 'berkeley.ca')).toBe(path.join(deployDir, 'berkeley.ca', 'meetings.db'));
    expect(currentArchivePath(deployDir, 'empty.ca')).toBeNull();
    expect(readDeploymentManifest(versionDir(deployDir, 'empty.ca', 1))).toBeNull();
  });
});
