import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployActivities, type DeployedVersion } from '../../src/activities/deploy.js';
import { compileArchive, searchArchive, type ArchivePage } from '../../src/archive/compile.js';
import { archiveKey } from '../../src/archive/layout.js';
import { currentVersion, stableArchivePath, versionFoldersOnDisk } from '../../src/deploy/layout.js';
import { publishArchive } from '../../src/deploy/publish.js';
import { syncDeployedArchives, type SiteSyncOutcome } from '../../src/deploy/store-mirror.js';
import { publishToStore, readStorePointer, rollBackStore, storeArchiveKey, storeManifestKey, storePointerKey } from '../../src/deploy/store-publish.js';
import { applyRollback, planRollback } from '../../src/deploy/versions.js';
import { startServer } from '../../src/serve/index.js';
import { saveSite } from '../../src/sites/repository.js';
import type { DocumentStore } from '../../src/storage/document-store.js';
import { openDocumentStore } from '../../src/storage/open.js';
import { loadConfig } from '../../src/config/index.js';
import { createHarness, type Harness } from '../support/harness.js';
import { s3StorageEnv, startTestMinio, type RunningMinio } from '../support/minio.js';
import { RemoteFolderStore } from '../support/remote-folder-store.js';

const SITE = 'alameda.ca';
const OTHER = 'berkeley.ca';
const KEEP = 2;

/** One machine's view: its own deploy folder and cache, sharing nothing with another host but the store. */
interface Host {
  deployDir: string;
  store: DocumentStore;
}

let root: string;
let storeDir: string;
let hostX: Host;
let hostY: Host;
let published = 0;

function host(name: string): Host {
  return { deployDir: path.join(root, name, 'deploy'), store: new RemoteFolderStore(storeDir, path.join(root, name, 'cache')) };
}

async function* pagesOf(pages: ArchivePage[]): AsyncGenerator<ArchivePage> {
  yield* pages;
}

async function compiledArchive(marker: string): Promise<string> {
  const source = path.join(root, `compiled-${++published}.db`);
  await compileArchive(source, pagesOf([{ kind: 'minutes', meeting: 'CityCouncil', date: '2026-01-05', page: 1, text: `${marker} council minutes` }]));
  return source;
}

/** What the deploy activity does on a host with a remote store: publish locally, then to the store. */
async function publishOn(on: Host, marker: string, site = SITE): Promise<number> {
  const publication = await publishArchive({ sourcePath: await compiledArchive(marker), deployDir: on.deployDir, subdomain: site, variant: 'full', runId: `run-${marker}`, keep: KEEP });
  await publishToStore(on.store, on.deployDir, site, publication.version, { keep: KEEP });
  return publication.version;
}

function syncOn(on: Host, sites?: string[]): Promise<SiteSyncOutcome[]> {
  return syncDeployedArchives(on.store, on.deployDir, { keep: KEEP, ...(sites ? { sites } : {}) });
}

/** Searches the stable path, as `clerk search` does. */
function searchOn(on: Host, word: string, site = SITE) {
  return searchArchive(stableArchivePath(on.deployDir, site), word);
}

/** A host whose store is the S3 bucket the environment names, with its own data folder (deploy folder, cache). */
function s3Host(name: string, env: Record<string, string>): Host {
  const dataDir = path.join(root, name);
  const config = loadConfig({ ...env, CLERK_DATA_DIR: dataDir }, dataDir);
  return { deployDir: config.deployDir, store: openDocumentStore(config) };
}

function storeVersions(site = SITE): string[] {
  return fs.readdirSync(path.join(storeDir, 'deploy', site, 'versions')).sort();
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-deploy-store-'));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('deployed archives in a shared store', () => {
  beforeAll(() => {
    storeDir = path.join(root, 'store');
    hostX = host('x');
    hostY = host('y');
  });

  it('a version published on host X is downloaded by host Y and answers a search there', async () => {
    expect(await syncOn(hostY)).toEqual([]);
    expect(await publishOn(hostX, 'FIRST')).toBe(1);
    expect(await readStorePointer(hostX.store, SITE)).toMatchObject({ subdomain: SITE, version: 1, event: 'publish' });

    expect(await syncOn(hostY)).toEqual([{ site: SITE, status: 'downloaded', version: 1, from: null }]);
    expect(currentVersion(hostY.deployDir, SITE)).toBe(1);
    expect(searchOn(hostY, 'FIRST')).toHaveLength(1);
    // Y's copy is its own file, not a link into X's folder or the store.
    expect(fs.realpathSync(stableArchivePath(hostY.deployDir, SITE)).startsWith(hostY.deployDir)).toBe(true);

    expect(await syncOn(hostY)).toEqual([{ site: SITE, status: 'up-to-date', version: 1 }]);
  });

  it('a retried publication uploads nothing twice and leaves the pointer alone', async () => {
    const before = fs.readFileSync(path.join(storeDir, storePointerKey(SITE)), 'utf8');
    const again = await publishToStore(hostX.store, hostX.deployDir, SITE, 1, { keep: KEEP });
    expect(again).toEqual({ upload: 'already-there', current: 1, pruned: [] });
    expect(fs.readFileSync(path.join(storeDir, storePointerKey(SITE)), 'utf8')).toBe(before);
  });

  it('host Y switches to version 2 when X publishes it, and follows a rollback on X', async () => {
    expect(await publishOn(hostX, 'SECOND')).toBe(2);
    expect(await syncOn(hostY)).toEqual([{ site: SITE, status: 'downloaded', version: 2, from: 1 }]);
    expect(searchOn(hostY, 'SECOND')).toHaveLength(1);
    expect(searchOn(hostY, 'FIRST')).toHaveLength(0);

    // `clerk deploy rollback` on X: the local switch, then the store's pointer.
    const plan = await planRollback(hostX.deployDir, SITE);
    await applyRollback(hostX.deployDir, plan);
    await rollBackStore(hostX.store, hostX.deployDir, plan.manifest);
    expect(await readStorePointer(hostY.store, SITE)).toMatchObject({ version: 1, event: 'rollback' });

    // Y still has version 1 on disk: only `current` moves.
    expect(await syncOn(hostY)).toEqual([{ site: SITE, status: 'switched', version: 1, from: 2 }]);
    expect(searchOn(hostY, 'FIRST')).toHaveLength(1);
  });

  it('ignores a half upload: an archive (and even a manifest) in the store that no pointer names', async () => {
    const source = await compiledArchive('HALF');
    await hostX.store.put(storeArchiveKey(SITE, 3), fs.readFileSync(source));
    expect(await syncOn(hostY)).toEqual([{ site: SITE, status: 'up-to-date', version: 1 }]);
    await hostX.store.put(storeManifestKey(SITE, 3), JSON.stringify({ subdomain: SITE, version: 3, sha256: 'a'.repeat(64), byteSize: 1 }));
    expect(await syncOn(hostY)).toEqual([{ site: SITE, status: 'up-to-date', version: 1 }]);
    expect(versionFoldersOnDisk(hostY.deployDir, SITE)).toEqual([1, 2]);
    await hostX.store.removeUnder(`deploy/${SITE}/versions/3`);
  });

  it('prunes the store beyond CLERK_DEPLOY_KEEP, never the version the pointer names', async () => {
    // Current is version 1 after the rollback; publishing 3 and 4 moves it forward again.
    expect(await publishOn(hostX, 'THIRD')).toBe(3);
    expect(await publishOn(hostX, 'FOURTH')).toBe(4);
    expect(storeVersions()).toEqual(['3', '4']);
    expect(await syncOn(hostY)).toEqual([{ site: SITE, status: 'downloaded', version: 4, from: 1 }]);
    expect(versionFoldersOnDisk(hostY.deployDir, SITE)).toEqual([2, 4]);
  });

  it('a corrupt or missing current.json fails that site with a clear error and does not stop the others', async () => {
    expect(await publishOn(hostX, 'OTHERSITE', OTHER)).toBe(1);
    await hostX.store.put(storePointerKey(SITE), '{"subdomain": "alameda.ca", "vers');
    const corrupt = await syncOn(hostY);
    expect(corrupt).toEqual([
      { site: SITE, status: 'failed', error: expect.stringMatching(/alameda\.ca: .*deploy\/alameda\.ca\/current\.json is not valid JSON/) },
      { site: OTHER, status: 'downloaded', version: 1, from: null },
    ]);
    // The site keeps serving what it had.
    expect(searchOn(hostY, 'FOURTH')).toHaveLength(1);

    fs.rmSync(path.join(storeDir, storePointerKey(SITE)));
    const missing = await syncOn(hostY);
    expect(missing[0]).toEqual({ site: SITE, status: 'failed', error: expect.stringMatching(/current\.json is missing/) });
    expect(missing[1]).toEqual({ site: OTHER, status: 'up-to-date', version: 1 });

    // A pointer naming a version the store no longer has.
    await hostX.store.put(storePointerKey(SITE), JSON.stringify({ subdomain: SITE, version: 1, sha256: 'b'.repeat(64), variant: 'full' }));
    const [pruned] = await syncOn(hostY, [SITE]);
    expect(pruned).toEqual({ site: SITE, status: 'failed', error: expect.stringMatching(/names version 1, but its deployment\.json is not in the store/) });
    expect(currentVersion(hostY.deployDir, SITE)).toBe(4);

    // The next publish repairs the pointer.
    expect(await publishOn(hostX, 'FIFTH')).toBe(5);
    expect(await syncOn(hostY, [SITE])).toEqual([{ site: SITE, status: 'downloaded', version: 5, from: 4 }]);
  });

  it('refuses a download that does not match its sha256, leaving nothing half-written', async () => {
    const version = await publishOn(hostX, 'SIXTH');
    // The archive in the store is replaced by another one after its manifest was written.
    await hostX.store.put(storeArchiveKey(SITE, version), fs.readFileSync(await compiledArchive('TAMPERED')));
    const [outcome] = await syncOn(hostY, [SITE]);
    expect(outcome).toEqual({ site: SITE, status: 'failed', error: expect.stringMatching(/has sha256 .* its deployment\.json says/) });
    expect(currentVersion(hostY.deployDir, SITE)).toBe(5);
    expect(fs.readdirSync(path.join(hostY.deployDir, SITE, 'versions')).filter((name) => name.startsWith('.') || name === String(version))).toEqual([]);
  });

  it('reports a site the store does not have as absent', async () => {
    expect(await syncOn(hostY, ['nowhere.example'])).toEqual([{ site: 'nowhere.example', status: 'absent' }]);
  });

  it("clerk serve's background sync shows a version published on another host without a restart", async () => {
    const hostZ = host('z');
    const errors: unknown[] = [];
    const server = await startServer({
      deployDir: hostZ.deployDir,
      host: '127.0.0.1',
      port: 0,
      sync: { store: hostZ.store, keep: KEEP, intervalMs: 100, onOutcomes: (outcomes) => errors.push(...outcomes.filter((o) => o.status === 'failed')), onError: (error) => errors.push(error) },
    });
    try {
      const versionServed = async () => {
        const body = (await (await fetch(`${server.url}/api/sites`)).json()) as { sites: { subdomain: string; version: number | null }[] };
        return body.sites.find((s) => s.subdomain === OTHER)?.version ?? null;
      };
      // The first sync ran before the server listened.
      expect(await versionServed()).toBe(1);
      expect(await publishOn(hostX, 'OTHERSECOND', OTHER)).toBe(2);
      while ((await versionServed()) !== 2) await new Promise((resolve) => setTimeout(resolve, 50));
      const hits = (await (await fetch(`${server.url}/api/sites/${OTHER}/search?q=OTHERSECOND`)).json()) as { hits?: unknown[]; results?: unknown[] };
      expect(JSON.stringify(hits)).toContain('OTHERSECOND');
    } finally {
      await server.close();
    }
    // alameda.ca's tampered version 6 fails every round, logged and survived.
    expect(errors.length).toBeGreaterThan(0);
  });
});

describe('the deploy activity with a remote store', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await createHarness('deploystore');
    await saveSite(harness.db, { subdomain: SITE, name: 'Alameda', fetcher: 'http-index', sourceUrl: 'http://127.0.0.1:9/index.html' });
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('publishes locally, uploads the version and points the store at it; a retry changes nothing', async () => {
    await compileArchive(
      await harness.store.localPath(archiveKey(SITE, 'full')),
      pagesOf([{ kind: 'minutes', meeting: 'CityCouncil', date: '2026-01-05', page: 1, text: 'ACTIVITY council minutes' }]),
    );
    // The store's objects are the harness's storage folder, so the compiled archive is found under its key.
    const store = new RemoteFolderStore(harness.config.storageDir, path.join(harness.dataDir, 'cache'));
    const { deployArchive } = createDeployActivities({ db: harness.db, store, config: harness.config });
    const env = new MockActivityEnvironment({ activityType: 'deployArchive', workflowExecution: { workflowId: `site/${SITE}`, runId: 'run-activity' } }, { logger: new DefaultLogger('ERROR') });
    const deployed = (await env.run(deployArchive, { subdomain: SITE, variant: 'full' as const })) as DeployedVersion;
    expect(deployed.version).toBe(1);
    expect(await readStorePointer(store, SITE)).toMatchObject({ version: 1, sha256: deployed.sha256 });
    const pointer = fs.readFileSync(path.join(harness.config.storageDir, storePointerKey(SITE)), 'utf8');

    const retried = (await env.run(deployArchive, { subdomain: SITE, variant: 'full' as const })) as DeployedVersion;
    expect(retried.version).toBe(1);
    expect(fs.readFileSync(path.join(harness.config.storageDir, storePointerKey(SITE)), 'utf8')).toBe(pointer);

    // Another host reads it from the store.
    const reader: Host = { deployDir: path.join(harness.dataDir, 'reader', 'deploy'), store: new RemoteFolderStore(harness.config.storageDir, path.join(harness.dataDir, 'reader', 'cache')) };
    expect(await syncDeployedArchives(reader.store, reader.deployDir, { keep: KEEP })).toEqual([{ site: SITE, status: 'downloaded', version: 1, from: null }]);
    expect(searchArchive(stableArchivePath(reader.deployDir, SITE), 'ACTIVITY')).toHaveLength(1);
  });
});

describe('with MinIO as the shared store', () => {
  let minio: RunningMinio;

  beforeAll(async () => {
    minio = await startTestMinio('clerk-deploy-store');
  });

  afterAll(async () => {
    await minio?.stop();
  });

  it('a deploy on one host is searched on another through S3, and a rollback follows', async () => {
    const env = s3StorageEnv(minio);
    const writer = s3Host('s3-writer', env);
    const reader = s3Host('s3-reader', env);
    expect(writer.store.remote).toBe(true);

    expect(await publishOn(writer, 'MINIOFIRST')).toBe(1);
    expect(await syncOn(reader)).toEqual([{ site: SITE, status: 'downloaded', version: 1, from: null }]);
    expect(searchOn(reader, 'MINIOFIRST')).toHaveLength(1);

    expect(await publishOn(writer, 'MINIOSECOND')).toBe(2);
    expect(await syncOn(reader)).toEqual([{ site: SITE, status: 'downloaded', version: 2, from: 1 }]);
    expect(searchOn(reader, 'MINIOSECOND')).toHaveLength(1);

    const plan = await planRollback(writer.deployDir, SITE);
    await applyRollback(writer.deployDir, plan);
    await rollBackStore(writer.store, writer.deployDir, plan.manifest);
    expect(await syncOn(reader)).toEqual([{ site: SITE, status: 'switched', version: 1, from: 2 }]);
    expect(searchOn(reader, 'MINIOFIRST')).toHaveLength(1);
    // The writer's published archive is still in place after its upload moved a link of it away.
    expect(searchOn(writer, 'MINIOFIRST')).toHaveLength(1);
  });
});
