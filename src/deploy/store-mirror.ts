import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { DocumentStore } from '../storage/document-store.js';
import { ARCHIVE_FILE, currentVersion, MANIFEST_FILE, readDeploymentManifest, versionDir, versionsDir } from './layout.js';
import { copyWithSha256, writeFileDurably } from './publish.js';
import { readStoreManifest, readStorePointer, sitesInStore, storeArchiveKey, storePointerKey, storeSitePrefix } from './store-publish.js';
import { pruneVersions, switchCurrent, syncDirectory } from './versions.js';

/**
 * The reader side of a shared store: brings the local deploy folder in line with the store's
 * pointers, so `clerk serve` and `clerk search` on any host read what a deploy on another host
 * published. The local folder keeps its usual layout (versions/<n>, `current` switched by rename),
 * so DeployedArchives and the stable `<site>/meetings.db` path work on it unchanged.
 */

export type SiteSyncOutcome =
  /** The local `current` already is the store's version. */
  | { site: string; status: 'up-to-date'; version: number }
  /** The version was on disk (an earlier download, or published here): only `current` moved. */
  | { site: string; status: 'switched'; version: number; from: number | null }
  | { site: string; status: 'downloaded'; version: number; from: number | null }
  /** The store has nothing for the site. */
  | { site: string; status: 'absent' }
  /** Nothing changed locally for this site; the error says why. */
  | { site: string; status: 'failed'; error: string };

export interface SyncOptions {
  /** Only these sites (default: every site with anything under `deploy/` in the store). */
  sites?: readonly string[];
  /** Downloaded versions kept on disk per site besides the current one (CLERK_DEPLOY_KEEP). */
  keep: number;
}

/**
 * Syncs each site from the store. One site's failure (a corrupt or missing current.json, a download
 * that does not match its sha256) is reported in its outcome and does not stop the others.
 */
export async function syncDeployedArchives(store: DocumentStore, deployDir: string, options: SyncOptions): Promise<SiteSyncOutcome[]> {
  const sites = options.sites ?? (await sitesInStore(store));
  const outcomes: SiteSyncOutcome[] = [];
  for (const site of sites) {
    try {
      outcomes.push(await syncSite(store, deployDir, site, options.keep));
    } catch (error) {
      outcomes.push({ site, status: 'failed', error: `${site}: ${(error as Error).message}` });
    }
  }
  return outcomes;
}

async function syncSite(store: DocumentStore, deployDir: string, site: string, keep: number): Promise<SiteSyncOutcome> {
  const pointer = await readStorePointer(store, site);
  if (!pointer) {
    if ((await store.keysUnder(storeSitePrefix(site))).length === 0) return { site, status: 'absent' };
    throw new Error(`${store.describe(storePointerKey(site))} is missing: no version is published in the store yet (or its first upload is still running); keeping what is on disk`);
  }
  const { version } = pointer;
  const from = currentVersion(deployDir, site);
  const onDisk = readDeploymentManifest(versionDir(deployDir, site, version));
  if (onDisk && onDisk.sha256 !== pointer.sha256) {
    throw new Error(`version ${version} on disk has sha256 ${onDisk.sha256}, the store's current.json says ${pointer.sha256}; not switching`);
  }
  if (onDisk && from === version) return { site, status: 'up-to-date', version };

  if (!onDisk) await downloadVersion(store, deployDir, site, version, pointer.sha256);
  await switchCurrent(deployDir, site, version);
  await pruneVersions(deployDir, site, keep);
  return { site, status: onDisk ? 'switched' : 'downloaded', version, from };
}

/**
 * Downloads a version into a hidden folder beside the versions (readers ignore it), checks the
 * archive against the manifest's sha256 and size, then renames the folder to `versions/<n>`: a
 * version folder on disk is always complete.
 */
async function downloadVersion(store: DocumentStore, deployDir: string, site: string, version: number, expectedSha256: string): Promise<void> {
  const manifest = await readStoreManifest(store, site, version);
  if (!manifest) throw new Error(`the store's current.json names version ${version}, but its ${MANIFEST_FILE} is not in the store (pruned, or not uploaded)`);
  if (manifest.sha256 !== expectedSha256) {
    throw new Error(`the store's current.json says version ${version} has sha256 ${expectedSha256}, its ${MANIFEST_FILE} says ${manifest.sha256}`);
  }
  const archiveKey = storeArchiveKey(site, version);
  if (!(await store.exists(archiveKey))) throw new Error(`version ${version}'s ${ARCHIVE_FILE} is not in the store (${store.describe(archiveKey)})`);

  await fs.mkdir(versionsDir(deployDir, site), { recursive: true });
  await removeAbandonedDownloads(versionsDir(deployDir, site));
  const incoming = path.join(versionsDir(deployDir, site), `.incoming-${version}-${randomUUID()}`);
  await fs.mkdir(incoming);
  try {
    // localPath streams the object to this host's cache; the copy hashes it on the way in.
    const copied = await copyWithSha256(await store.localPath(archiveKey), path.join(incoming, ARCHIVE_FILE));
    if (copied.sha256 !== manifest.sha256 || copied.byteSize !== manifest.byteSize) {
      throw new Error(`version ${version}'s ${ARCHIVE_FILE} from the store has sha256 ${copied.sha256} (${copied.byteSize} bytes), its ${MANIFEST_FILE} says ${manifest.sha256} (${manifest.byteSize} bytes)`);
    }
    await writeFileDurably(path.join(incoming, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await syncDirectory(incoming);
    await fs.rename(incoming, versionDir(deployDir, site, version)).catch((error: NodeJS.ErrnoException) => {
      // Another sync on this host got there first with the same archive: use theirs.
      const there = readDeploymentManifest(versionDir(deployDir, site, version));
      if (there?.sha256 === manifest.sha256) return;
      if (error.code === 'ENOTEMPTY' || error.code === 'EEXIST') {
        throw new Error(`${versionDir(deployDir, site, version)} already exists and is not the store's version ${version} (a publication on this host in progress?)`);
      }
      throw error;
    });
    await syncDirectory(versionsDir(deployDir, site));
  } finally {
    await fs.rm(incoming, { recursive: true, force: true });
  }
}

/** A download folder this old belongs to a sync that was killed (as with deploy's stale reservations). */
const ABANDONED_DOWNLOAD_MS = 24 * 60 * 60 * 1000;

async function removeAbandonedDownloads(folder: string): Promise<void> {
  for (const name of await fs.readdir(folder)) {
    if (!name.startsWith('.incoming-')) continue;
    const stat = await fs.stat(path.join(folder, name)).catch(() => null);
    if (stat && Date.now() - stat.mtimeMs > ABANDONED_DOWNLOAD_MS) await fs.rm(path.join(folder, name), { recursive: true, force: true });
  }
}

export interface ArchiveSyncLoop {
  /** Stops the loop; resolves when a sync in progress has finished. */
  stop(): Promise<void>;
}

export interface ArchiveSyncLoopOptions {
  store: DocumentStore;
  deployDir: string;
  keep: number;
  intervalMs: number;
  /** Called after every round with its outcomes (up-to-date sites included). */
  onOutcomes?: (outcomes: SiteSyncOutcome[]) => void;
  /** Called when a whole round failed (the store could not even be listed). */
  onError?: (error: unknown) => void;
}

/**
 * Syncs every site now and then every `intervalMs` after the previous round ends (rounds never
 * overlap). Errors are handed to the callbacks and the loop goes on: a store that is down for a
 * while leaves the last synced versions served. Resolves once the first round is done.
 */
export async function startArchiveSync(options: ArchiveSyncLoopOptions): Promise<ArchiveSyncLoop> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const round = async () => {
    try {
      options.onOutcomes?.(await syncDeployedArchives(options.store, options.deployDir, { keep: options.keep }));
    } catch (error) {
      options.onError?.(error);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = round().then(schedule);
    }, options.intervalMs);
    // The loop alone must not keep a process alive that is otherwise done.
    timer.unref();
  };

  running = round();
  await running;
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
