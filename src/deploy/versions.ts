import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  ARCHIVE_FILE,
  CURRENT_LINK,
  currentLinkTarget,
  currentVersion,
  MANIFEST_FILE,
  publishedVersionsOnDisk,
  readDeploymentManifest,
  RESERVATION_FILE,
  siteDeployDir,
  versionDir,
  versionFoldersOnDisk,
  versionsDir,
  type DeploymentManifest,
} from './layout.js';

/** The request cannot be met as asked: an unknown site, a version that is not on disk (CLI exit 2). */
export class DeployRequestError extends Error {
  override name = 'DeployRequestError';
}

/** Current is already the oldest version kept: there is nothing to roll back to (CLI exit 1). */
export class NothingToRollBackError extends Error {
  override name = 'NothingToRollBackError';
}

/** A version's meetings.db no longer matches the sha256 its deployment.json recorded (CLI exit 1). */
export class ArchiveIntegrityError extends Error {
  override name = 'ArchiveIntegrityError';
}

/**
 * A reservation no run has finished for this long belongs to a publication that died and was never
 * retried. Younger ones may be in progress in another worker, so pruning leaves them alone.
 */
const STALE_RESERVATION_MS = 24 * 60 * 60 * 1000;

/**
 * Points `current` at a version, atomically: a fresh symlink under a temporary name is renamed over
 * `current`, so a reader resolving it finds the old version or the new one, never nothing.
 */
export async function switchCurrent(deployDir: string, subdomain: string, version: number): Promise<void> {
  const siteDir = siteDeployDir(deployDir, subdomain);
  await replaceWithSymlink(path.join(siteDir, CURRENT_LINK), currentLinkTarget(version));
  await ensureStableLink(deployDir, subdomain);
  await syncDirectory(siteDir);
}

/**
 * Makes `<site>/meetings.db` a symlink through `current`. A site deployed before versioned deploys
 * has a regular file there: the rename replaces it in one step, so `clerk search` and older tools
 * keep finding an archive throughout.
 */
async function ensureStableLink(deployDir: string, subdomain: string): Promise<void> {
  const stable = path.join(siteDeployDir(deployDir, subdomain), ARCHIVE_FILE);
  const wanted = `${CURRENT_LINK}/${ARCHIVE_FILE}`;
  const existing = await fs.readlink(stable).catch(() => null);
  if (existing !== wanted) await replaceWithSymlink(stable, wanted);
}

async function replaceWithSymlink(linkPath: string, target: string): Promise<void> {
  const temporary = `${path.dirname(linkPath)}/.${path.basename(linkPath)}.${randomUUID()}.link`;
  await fs.symlink(target, temporary);
  try {
    await fs.rename(temporary, linkPath);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
}

/** Makes renames and new entries in a folder durable: without it a crash can undo a switch. */
export async function syncDirectory(folder: string): Promise<void> {
  const handle = await fs.open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** sha256 of a file, read as a stream: archives are gigabytes. */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Removes published versions beyond the newest `keep`, never the current one. A folder is renamed
 * out of the version namespace before it is deleted, so a half-deleted folder never looks like a
 * version. Readers that still have a pruned database open keep reading it (the inode lives on).
 * Returns the versions removed.
 */
export async function pruneVersions(deployDir: string, subdomain: string, keep: number, now: Date = new Date()): Promise<number[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a whole number of at least 1, got ${keep}`);
  const current = currentVersion(deployDir, subdomain);
  const published = publishedVersionsOnDisk(deployDir, subdomain).map((m) => m.version);
  const kept = new Set(published.slice(-keep));
  if (current !== null) kept.add(current);
  const publishedSet = new Set(published);
  const removed: number[] = [];
  for (const version of versionFoldersOnDisk(deployDir, subdomain)) {
    if (kept.has(version)) continue;
    if (!publishedSet.has(version) && !(await isStaleReservation(versionDir(deployDir, subdomain, version), now))) continue;
    await removeFolder(deployDir, subdomain, path.join(versionsDir(deployDir, subdomain), String(version)));
    if (publishedSet.has(version)) removed.push(version);
  }
  // Leftovers of a prune that was interrupted between its rename and its delete.
  for (const name of await fs.readdir(versionsDir(deployDir, subdomain)).catch(() => [] as string[])) {
    if (name.startsWith('.pruning-')) await fs.rm(path.join(versionsDir(deployDir, subdomain), name), { recursive: true, force: true });
  }
  return removed;
}

async function isStaleReservation(folder: string, now: Date): Promise<boolean> {
  const stat = await fs.stat(path.join(folder, RESERVATION_FILE)).catch(() => fs.stat(folder));
  return now.getTime() - stat.mtimeMs > STALE_RESERVATION_MS;
}

async function removeFolder(deployDir: string, subdomain: string, folder: string): Promise<void> {
  const doomed = path.join(versionsDir(deployDir, subdomain), `.pruning-${path.basename(folder)}-${randomUUID()}`);
  await fs.rename(folder, doomed);
  await fs.rm(doomed, { recursive: true, force: true });
}

export interface RollbackPlan {
  subdomain: string;
  /** The version current points at now (null: only a pre-versioning archive, or none). */
  from: number | null;
  to: number;
  manifest: DeploymentManifest;
  archivePath: string;
}

/**
 * Chooses and checks the version a rollback would switch to, reading only the deploy folder (so it
 * works while Postgres is down): `to` when given, else the newest kept version older than current.
 * The target's meetings.db is hashed and compared with its deployment.json before anything changes.
 */
export async function planRollback(deployDir: string, subdomain: string, to?: number): Promise<RollbackPlan> {
  const published = publishedVersionsOnDisk(deployDir, subdomain);
  if (published.length === 0) {
    throw new DeployRequestError(`${subdomain} has no versioned deployment in ${deployDir}; nothing to roll back`);
  }
  const from = currentVersion(deployDir, subdomain);
  let manifest: DeploymentManifest | undefined;
  if (to !== undefined) {
    if (!Number.isInteger(to) || to < 1) throw new DeployRequestError(`--to must be a version number (a whole number from 1), got ${to}`);
    manifest = published.find((m) => m.version === to);
    if (!manifest) {
      const kept = published.map((m) => m.version).join(', ');
      throw new DeployRequestError(`${subdomain} version ${to} is not on disk (pruned, or never published); versions kept: ${kept}`);
    }
    if (to === from) throw new DeployRequestError(`${subdomain} version ${to} is already current`);
  } else {
    manifest = [...published].reverse().find((m) => from === null || m.version < from);
    if (!manifest) {
      throw new NothingToRollBackError(`${subdomain} is at version ${from}, the oldest version kept; nothing older to roll back to`);
    }
  }
  const archivePath = path.join(versionDir(deployDir, subdomain, manifest.version), ARCHIVE_FILE);
  await verifyArchive(archivePath, manifest);
  return { subdomain, from, to: manifest.version, manifest, archivePath };
}

/** Switches `current` to the planned version (after planRollback has verified it). */
export async function applyRollback(deployDir: string, plan: RollbackPlan): Promise<void> {
  // The target was verified moments ago; re-reading its manifest catches a prune in between.
  if (!readDeploymentManifest(versionDir(deployDir, plan.subdomain, plan.to))) {
    throw new DeployRequestError(`${plan.subdomain} version ${plan.to} was pruned while rolling back`);
  }
  await switchCurrent(deployDir, plan.subdomain, plan.to);
}

async function verifyArchive(archivePath: string, manifest: DeploymentManifest): Promise<void> {
  const stat = await fs.stat(archivePath).catch(() => null);
  const where = `${manifest.subdomain} version ${manifest.version}`;
  if (!stat) throw new DeployRequestError(`${where} has no ${ARCHIVE_FILE} (${archivePath})`);
  if (stat.size !== manifest.byteSize) {
    throw new ArchiveIntegrityError(`${where}: ${ARCHIVE_FILE} is ${stat.size} bytes, its ${MANIFEST_FILE} says ${manifest.byteSize}; refusing to switch to it`);
  }
  const actual = await sha256OfFile(archivePath);
  if (actual !== manifest.sha256) {
    throw new ArchiveIntegrityError(`${where}: ${ARCHIVE_FILE} has sha256 ${actual}, its ${MANIFEST_FILE} says ${manifest.sha256}; refusing to switch to it`);
  }
}

/** Every file and link in a site's deploy folder (versions, `current`, `meetings.db`), sorted. */
export async function siteDeployFiles(deployDir: string, subdomain: string): Promise<string[]> {
  const folder = siteDeployDir(deployDir, subdomain);
  const entries = await fs.readdir(folder, { recursive: true, withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  return entries
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/**
 * Deletes a site's whole deploy folder (`clerk purge --files`): renamed out of the sites' namespace
 * first (readers skip dot-names), so a reader sees the site's archive or no site, never half of it.
 * Returns how many files and links were deleted.
 */
export async function removeSiteDeployment(deployDir: string, subdomain: string): Promise<number> {
  const count = (await siteDeployFiles(deployDir, subdomain)).length;
  const doomed = path.join(deployDir, `.purging-${subdomain}-${randomUUID()}`);
  try {
    await fs.rename(siteDeployDir(deployDir, subdomain), doomed);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  await fs.rm(doomed, { recursive: true, force: true });
  return count;
}
