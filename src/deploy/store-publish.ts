import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ArchiveVariant } from '../archive/layout.js';
import type { DocumentStore } from '../storage/document-store.js';
import { ARCHIVE_FILE, MANIFEST_FILE, readDeploymentManifest, versionDir, type DeploymentManifest } from './layout.js';

/**
 * Deployed archives in a shared (remote) document store, so a deploy on one host reaches `clerk
 * serve` and `clerk search` on every other:
 *
 *   deploy/<site>/versions/<version>/meetings.db
 *   deploy/<site>/versions/<version>/deployment.json   (the same DeploymentManifest as on disk)
 *   deploy/<site>/current.json                         (a StorePointer: the version readers serve)
 *
 * A version is uploaded archive first, manifest second, and the pointer is written last, so a
 * reader that follows the pointer always finds a complete version. Object stores have no rename:
 * the pointer is the one object whose replacement switches every reader at once.
 */

export const STORE_DEPLOY_PREFIX = 'deploy';
export const STORE_POINTER_FILE = 'current.json';

export function storeSitePrefix(subdomain: string): string {
  return `${STORE_DEPLOY_PREFIX}/${subdomain}`;
}

export function storeVersionPrefix(subdomain: string, version: number): string {
  return `${storeSitePrefix(subdomain)}/versions/${version}`;
}

export function storeArchiveKey(subdomain: string, version: number): string {
  return `${storeVersionPrefix(subdomain, version)}/${ARCHIVE_FILE}`;
}

export function storeManifestKey(subdomain: string, version: number): string {
  return `${storeVersionPrefix(subdomain, version)}/${MANIFEST_FILE}`;
}

export function storePointerKey(subdomain: string): string {
  return `${storeSitePrefix(subdomain)}/${STORE_POINTER_FILE}`;
}

/** What `deploy/<site>/current.json` holds. */
export interface StorePointer {
  subdomain: string;
  version: number;
  variant: ArchiveVariant;
  /** sha256 of the version's meetings.db: a reader checks its download against it. */
  sha256: string;
  /** When the version was published (ISO 8601). */
  publishedAt: string;
  /** When the pointer was last moved, and by what. */
  switchedAt: string;
  event: 'publish' | 'rollback';
}

/** The store's current.json or a version's deployment.json cannot be used as it is. */
export class StoreDeploymentError extends Error {
  override name = 'StoreDeploymentError';
}

/** The store already holds a different archive under this version number (two hosts numbered alike). */
export class StoreVersionConflictError extends Error {
  override name = 'StoreVersionConflictError';
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * The site's pointer, or null when the store has none. A pointer that is not valid JSON, or does not
 * name this site, a version and a sha256, throws StoreDeploymentError: readers must not guess.
 */
export async function readStorePointer(store: DocumentStore, subdomain: string): Promise<StorePointer | null> {
  const key = storePointerKey(subdomain);
  if (!(await store.exists(key))) return null;
  const value = parseJsonObject(await store.getText(key), store.describe(key));
  const { version, sha256 } = value;
  if (value.subdomain !== subdomain || !isVersionNumber(version) || typeof sha256 !== 'string' || !SHA256.test(sha256)) {
    throw new StoreDeploymentError(`${store.describe(key)} is not a deploy pointer for ${subdomain} (it needs "subdomain": "${subdomain}", a whole "version" from 1 and a hex "sha256")`);
  }
  return value as unknown as StorePointer;
}

/** A version's manifest in the store, or null when it is not there (not uploaded yet, or pruned). */
export async function readStoreManifest(store: DocumentStore, subdomain: string, version: number): Promise<DeploymentManifest | null> {
  const key = storeManifestKey(subdomain, version);
  if (!(await store.exists(key))) return null;
  const value = parseJsonObject(await store.getText(key), store.describe(key));
  if (value.subdomain !== subdomain || value.version !== version || typeof value.sha256 !== 'string' || !SHA256.test(value.sha256) || typeof value.byteSize !== 'number') {
    throw new StoreDeploymentError(`${store.describe(key)} does not describe ${subdomain} version ${version} (subdomain, version, sha256 and byteSize are required)`);
  }
  return value as unknown as DeploymentManifest;
}

/**
 * Uploads a version published in the local deploy folder: meetings.db, then deployment.json (the
 * manifest marks the upload complete). Idempotent: a version whose manifest is already in the store
 * with the same sha256 is left alone, so a retried deploy on another host uploads nothing twice.
 */
export async function uploadVersion(store: DocumentStore, deployDir: string, subdomain: string, version: number): Promise<'uploaded' | 'already-there'> {
  const folder = versionDir(deployDir, subdomain, version);
  const manifest = readDeploymentManifest(folder);
  if (!manifest) throw new StoreDeploymentError(`${subdomain} version ${version} is not published in ${deployDir}: nothing to upload`);
  const uploaded = await readStoreManifest(store, subdomain, version).catch((error: unknown) => {
    // An unreadable manifest in the store is what an interrupted overwrite leaves: upload again.
    if (error instanceof StoreDeploymentError) return null;
    throw error;
  });
  if (uploaded) {
    if (uploaded.sha256 === manifest.sha256) return 'already-there';
    throw new StoreVersionConflictError(
      `${subdomain} version ${version} in the store has sha256 ${uploaded.sha256} (run ${uploaded.runId}), but this host published it with ${manifest.sha256} (run ${manifest.runId}); refusing to overwrite it`,
    );
  }

  // putFile moves its source into the store: give it a second name of the archive (a hard link,
  // no copy), so the published file stays where readers on this host find it.
  const handOver = path.join(folder, `.${ARCHIVE_FILE}.${randomUUID()}.tmp`);
  await fs.link(path.join(folder, ARCHIVE_FILE), handOver).catch(() => fs.copyFile(path.join(folder, ARCHIVE_FILE), handOver));
  try {
    await store.putFile(storeArchiveKey(subdomain, version), handOver);
  } finally {
    await fs.rm(handOver, { force: true });
  }
  await store.put(storeManifestKey(subdomain, version), `${JSON.stringify(manifest, null, 2)}\n`);
  return 'uploaded';
}

/** Writes the site's pointer: the one write that switches every reader to the version. */
export async function pointStoreAt(store: DocumentStore, manifest: DeploymentManifest, event: StorePointer['event'], now: Date = new Date()): Promise<void> {
  const pointer: StorePointer = {
    subdomain: manifest.subdomain,
    version: manifest.version,
    variant: manifest.variant,
    sha256: manifest.sha256,
    publishedAt: manifest.publishedAt,
    switchedAt: now.toISOString(),
    event,
  };
  await store.put(storePointerKey(manifest.subdomain), `${JSON.stringify(pointer, null, 2)}\n`);
}

export interface StorePublication {
  upload: 'uploaded' | 'already-there';
  /** The version the store's pointer names afterwards. */
  current: number;
  /** Versions removed from the store beyond `keep`. */
  pruned: number[];
}

/**
 * After a local publish: uploads the version, moves the pointer to it unless the store already
 * points at a newer one (as locally, only a rollback moves it back), and prunes the store's versions
 * beyond `keep`. A retry repeats it harmlessly.
 */
export async function publishToStore(store: DocumentStore, deployDir: string, subdomain: string, version: number, options: { keep: number; now?: Date }): Promise<StorePublication> {
  const upload = await uploadVersion(store, deployDir, subdomain, version);
  const manifest = readDeploymentManifest(versionDir(deployDir, subdomain, version))!;
  const pointer = await readStorePointer(store, subdomain).catch((error: unknown) => {
    // A corrupt pointer helps no reader: this publish replaces it.
    if (error instanceof StoreDeploymentError) return null;
    throw error;
  });
  let current = pointer?.version ?? version;
  if (!pointer || pointer.version < version || (pointer.version === version && pointer.sha256 !== manifest.sha256)) {
    await pointStoreAt(store, manifest, 'publish', options.now);
    current = version;
  }
  const pruned = await pruneStoreVersions(store, subdomain, options.keep);
  return { upload, current, pruned };
}

/**
 * After a local rollback: makes sure the version is in the store (it was uploaded when published,
 * unless that happened before the store was shared), then points the store at it.
 */
export async function rollBackStore(store: DocumentStore, deployDir: string, manifest: DeploymentManifest, now: Date = new Date()): Promise<void> {
  await uploadVersion(store, deployDir, manifest.subdomain, manifest.version);
  await pointStoreAt(store, manifest, 'rollback', now);
}

/**
 * Removes the store's published versions beyond the newest `keep`, never the one the pointer names.
 * Versions without a manifest are uploads in progress (or abandoned) and stay. Returns those removed.
 */
export async function pruneStoreVersions(store: DocumentStore, subdomain: string, keep: number): Promise<number[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep must be a whole number of at least 1, got ${keep}`);
  const versionsPrefix = `${storeSitePrefix(subdomain)}/versions/`;
  const published = new Set<number>();
  for (const key of await store.keysUnder(`${storeSitePrefix(subdomain)}/versions`)) {
    const [version, file, ...deeper] = key.slice(versionsPrefix.length).split('/');
    if (file === MANIFEST_FILE && deeper.length === 0 && /^[1-9]\d*$/.test(version!)) published.add(Number(version));
  }
  const newestFirst = [...published].sort((a, b) => b - a);
  const kept = new Set(newestFirst.slice(0, keep));
  // A corrupt pointer protects nothing; a store that cannot be read fails the prune instead.
  const pointer = await readStorePointer(store, subdomain).catch((error: unknown) => {
    if (error instanceof StoreDeploymentError) return null;
    throw error;
  });
  if (pointer) kept.add(pointer.version);
  const removed: number[] = [];
  for (const version of newestFirst.reverse()) {
    if (kept.has(version)) continue;
    await store.removeUnder(storeVersionPrefix(subdomain, version));
    removed.push(version);
  }
  return removed;
}

/** The sites with anything under `deploy/` in the store, by name. */
export async function sitesInStore(store: DocumentStore): Promise<string[]> {
  const sites = new Set<string>();
  for (const key of await store.keysUnder(STORE_DEPLOY_PREFIX)) {
    const site = key.split('/')[1];
    if (site) sites.add(site);
  }
  return [...sites].sort();
}

function isVersionNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1;
}

function parseJsonObject(text: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StoreDeploymentError(`${where} is not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StoreDeploymentError(`${where} is not a JSON object`);
  return value as Record<string, unknown>;
}
