import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import type { ArchiveVariant } from '../archive/layout.js';
import {
  ARCHIVE_FILE,
  currentVersion,
  MANIFEST_FILE,
  readDeploymentManifest,
  RESERVATION_FILE,
  versionDir,
  versionFoldersOnDisk,
  versionsDir,
  type DeploymentManifest,
} from './layout.js';
import { pruneVersions, switchCurrent, syncDirectory } from './versions.js';

export interface PublishRequest {
  /** The compiled archive to publish; it is copied, never moved. */
  sourcePath: string;
  deployDir: string;
  subdomain: string;
  variant: ArchiveVariant;
  /** The run publishing: one (site, run, variant) publishes one version, however often it is retried. */
  runId: string;
  /** How many published versions to keep (the current one is always kept besides). */
  keep: number;
  /** The highest version recorded elsewhere (the deployments table), so a pruned number is never reused. */
  highestKnownVersion?: number;
  now?: () => Date;
}

export interface Publication extends DeploymentManifest {
  /** The version's meetings.db. */
  path: string;
  /** True when a retry found this run's version already published and only settled `current`. */
  reused: boolean;
  /** Whether `current` points at this version after publishing (false when a newer version was already current). */
  current: boolean;
  /** Versions pruned afterwards. */
  pruned: number[];
  minutesRows: number;
  agendaRows: number;
}

interface Reservation {
  runId: string;
  variant: ArchiveVariant;
  startedAt: string;
}

/**
 * Publishes a compiled archive as a new version of the site:
 *
 * 1. reserve `versions/<n>` (n = 1 + the highest version on disk or known, by an exclusive mkdir);
 * 2. stream the archive into a staging file there, hashing it in the same pass, fsync, rename it to
 *    meetings.db; count its pages, entities and votes read-only; write deployment.json the same way;
 * 3. point `current` at it (one rename) and prune versions beyond `keep`.
 *
 * A reader sees the old version or the new one, never a partial file. A retry of the same run and
 * variant finds its own folder (by deployment.json, or by the reservation of an attempt that died
 * mid-copy) and reuses that version. `current` only moves forward on publish: a slower, older
 * publication never replaces a newer one that is already current; only a rollback moves it back.
 */
export async function publishArchive(request: PublishRequest): Promise<Publication> {
  const { deployDir, subdomain, runId, variant } = request;
  const now = () => request.now?.() ?? new Date();
  const own = findOwnVersion(deployDir, subdomain, runId, variant);
  if (own?.manifest) return settle(request, own.manifest, true);

  const version = own?.version ?? (await reserveVersion(request, now()));
  const folder = versionDir(deployDir, subdomain, version);
  let written: { manifest: DeploymentManifest; contents: ArchiveContents };
  try {
    written = await writeVersion(request, folder, version, now());
  } catch (error) {
    // Nothing pointed at this version yet: remove it, so no half-written version stays behind.
    await fs.rm(folder, { recursive: true, force: true });
    throw error;
  }
  return settle(request, written.manifest, false, written.contents);
}

async function settle(request: PublishRequest, manifest: DeploymentManifest, reused: boolean, contents?: ArchiveContents): Promise<Publication> {
  const { deployDir, subdomain } = request;
  const current = currentVersion(deployDir, subdomain);
  if (current === null || current < manifest.version) await switchCurrent(deployDir, subdomain, manifest.version);
  const archive = path.join(versionDir(deployDir, subdomain, manifest.version), ARCHIVE_FILE);
  const { minutesRows, agendaRows } = contents ?? countArchiveContents(archive);
  const pruned = await pruneVersions(deployDir, subdomain, request.keep, request.now?.() ?? new Date());
  return {
    ...manifest,
    minutesRows,
    agendaRows,
    path: archive,
    reused,
    current: currentVersion(deployDir, subdomain) === manifest.version,
    pruned,
  };
}

/** This run's version of this variant, published (with its manifest) or only reserved. */
function findOwnVersion(deployDir: string, subdomain: string, runId: string, variant: ArchiveVariant): { version: number; manifest?: DeploymentManifest } | undefined {
  for (const version of versionFoldersOnDisk(deployDir, subdomain).reverse()) {
    const folder = versionDir(deployDir, subdomain, version);
    const manifest = readDeploymentManifest(folder);
    if (manifest) {
      if (manifest.runId === runId && manifest.variant === variant) return { version, manifest };
      continue;
    }
    const reservation = readJson<Reservation>(path.join(folder, RESERVATION_FILE));
    if (reservation?.runId === runId && reservation.variant === variant) return { version };
  }
  return undefined;
}

/** Claims the next version number with an exclusive mkdir, so two publications never share one. */
async function reserveVersion(request: PublishRequest, startedAt: Date): Promise<number> {
  const { deployDir, subdomain } = request;
  await fs.mkdir(versionsDir(deployDir, subdomain), { recursive: true });
  let version = Math.max(request.highestKnownVersion ?? 0, ...versionFoldersOnDisk(deployDir, subdomain)) + 1;
  for (;;) {
    try {
      await fs.mkdir(versionDir(deployDir, subdomain, version));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      version += 1;
    }
  }
  const reservation: Reservation = { runId: request.runId, variant: request.variant, startedAt: startedAt.toISOString() };
  await writeFileDurably(path.join(versionDir(deployDir, subdomain, version), RESERVATION_FILE), JSON.stringify(reservation));
  return version;
}

async function writeVersion(request: PublishRequest, folder: string, version: number, publishedAt: Date): Promise<{ manifest: DeploymentManifest; contents: ArchiveContents }> {
  await fs.mkdir(folder, { recursive: true });
  // Temporary files of an attempt that died mid-copy.
  for (const name of await fs.readdir(folder)) {
    if (name.endsWith('.staging') || name.endsWith('.tmp')) await fs.rm(path.join(folder, name), { force: true });
  }

  const archive = path.join(folder, ARCHIVE_FILE);
  const staging = path.join(folder, `.${ARCHIVE_FILE}.${randomUUID()}.staging`);
  const copied = await copyWithSha256(request.sourcePath, staging);
  await fs.rename(staging, archive);
  const contents = countArchiveContents(archive);
  const { pages, entities, votes } = contents;
  const manifest: DeploymentManifest = {
    subdomain: request.subdomain,
    version,
    variant: request.variant,
    sha256: copied.sha256,
    byteSize: copied.byteSize,
    pages,
    entities,
    votes,
    publishedAt: publishedAt.toISOString(),
    runId: request.runId,
  };
  await writeFileDurably(path.join(folder, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await fs.rm(path.join(folder, RESERVATION_FILE), { force: true });
  await syncDirectory(folder);
  return { manifest, contents };
}

/**
 * Copies a file as a stream (1 MiB chunks), hashing what passes through, then fsyncs the copy: the
 * archive is never held in memory whatever its size.
 */
export async function copyWithSha256(source: string, target: string): Promise<{ sha256: string; byteSize: number }> {
  const hash = createHash('sha256');
  let byteSize = 0;
  await pipeline(
    createReadStream(source, { highWaterMark: 1 << 20 }),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        byteSize += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(target, { flags: 'wx' }),
  );
  const handle = await fs.open(target, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), byteSize };
}

export interface ArchiveContents {
  pages: number;
  entities: number;
  votes: number;
  minutesRows: number;
  agendaRows: number;
}

/**
 * Pages (rows of `minutes` and `agendas`), entities (persons, organisations and locations) and votes
 * in a published archive, read-only and row by row. It also proves the file is an archive before it
 * goes live: a file that is not one fails here, while nothing points at it yet.
 */
export function countArchiveContents(archivePath: string): ArchiveContents {
  const db = new Database(archivePath, { readonly: true, fileMustExist: true });
  const totals = { pages: 0, entities: 0, votes: 0, minutesRows: 0, agendaRows: 0 };
  try {
    for (const table of ['minutes', 'agendas'] as const) {
      const rows = db.prepare(`SELECT entities_json, votes_json FROM ${table}`).raw().iterate() as IterableIterator<[string | null, string | null]>;
      for (const [entitiesJson, votesJson] of rows) {
        totals.pages += 1;
        if (table === 'minutes') totals.minutesRows += 1;
        else totals.agendaRows += 1;
        const entities = parseJson(entitiesJson) as Record<string, unknown> | null;
        if (entities && typeof entities === 'object') {
          for (const key of ['persons', 'orgs', 'locations']) totals.entities += lengthOf(entities[key]);
        }
        totals.votes += lengthOf(parseJson(votesJson));
      }
    }
  } finally {
    db.close();
  }
  return totals;
}

function lengthOf(value: unknown): number {
  return Array.isArray(value) ? value.length : 0;
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    // A malformed cell counts as nothing rather than blocking a publish: search still works.
    return null;
  }
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Writes a small file under a temporary name, fsyncs it and renames it into place. */
export async function writeFileDurably(file: string, text: string): Promise<void> {
  const temporary = `${file}.${randomUUID()}.tmp`;
  const handle = await fs.open(temporary, 'wx');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temporary, file);
}
