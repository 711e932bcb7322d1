import fs from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parseSubdomain, type Subdomain } from '../sites/subdomain.js';
import { SiteQueries } from './queries.js';

/** What deploy writes beside a version's meetings.db (deployment.json); every field optional here. */
export interface DeploymentInfo {
  version?: string;
  variant?: string;
  sha256?: string;
  publishedAt?: string;
  [key: string]: unknown;
}

/** One deployed meetings.db, open read-only, with what the server knows about it. */
export interface OpenArchive {
  subdomain: Subdomain;
  /** The file behind `<site>/meetings.db` after following `current` and its symlinks. */
  realPath: string;
  deployment: DeploymentInfo | null;
  /** When the file was last modified: the last update of an archive without deployment.json. */
  modifiedAt: Date;
  queries: SiteQueries;
}

interface CachedArchive {
  key: string;
  archive: OpenArchive;
  /** Requests using the handle now: a retired handle is closed when the last one ends. */
  leases: number;
  retired: boolean;
}

/**
 * The sites of a deploy folder and a read-only connection to each one's current archive.
 *
 * Deploys switch `<site>/current` (or, for older deploys, rename a new `<site>/meetings.db` over
 * the old) while the server runs, so every request resolves the site's meetings.db again: a
 * realpath and a stat, far cheaper than opening SQLite. Connections are cached by real path and
 * inode; when a site's file changes, the next request opens the new one and the old connection is
 * closed once the requests still using it are done. Nothing here writes to the deploy folder.
 */
export class DeployedArchives {
  private readonly cache = new Map<string, CachedArchive>();
  private readonly currentKey = new Map<Subdomain, string>();
  private closed = false;

  constructor(readonly deployDir: string) {}

  /** The sites with a meetings.db, by name. A missing deploy folder has none. */
  async sites(): Promise<Subdomain[]> {
    const entries = await fs.readdir(this.deployDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    const sites: Subdomain[] = [];
    for (const entry of entries) {
      const site = asSubdomain(entry.name);
      if (site && (entry.isDirectory() || entry.isSymbolicLink()) && (await this.resolve(site))) sites.push(site);
    }
    return sites.sort();
  }

  /**
   * Runs `work` with the site's current archive and releases it after, even when `work` throws.
   * Returns undefined for a name that is not a deployed site, malformed names included.
   */
  async use<T>(name: string, work: (archive: OpenArchive) => T | Promise<T>): Promise<{ value: T } | undefined> {
    const site = asSubdomain(name);
    if (!site) return undefined;
    const entry = await this.lease(site);
    if (!entry) return undefined;
    try {
      return { value: await work(entry.archive) };
    } finally {
      this.release(entry);
    }
  }

  /**
   * Runs `work` with every deployed site's current archive at once, in name order: a search across
   * sites ranks on each and then reads the chosen rows, and both must see the same files.
   */
  async useAll<T>(work: (archives: OpenArchive[]) => T | Promise<T>): Promise<T> {
    const leased: CachedArchive[] = [];
    try {
      for (const site of await this.sites()) {
        const entry = await this.lease(site);
        if (entry) leased.push(entry);
      }
      return await work(leased.map((entry) => entry.archive));
    } finally {
      for (const entry of leased) this.release(entry);
    }
  }

  /** Closes every connection; in-flight requests finish on theirs first. */
  close(): void {
    this.closed = true;
    for (const entry of this.cache.values()) this.retire(entry);
  }

  private async resolve(site: Subdomain): Promise<{ realPath: string; key: string; modifiedAt: Date } | undefined> {
    try {
      const realPath = await fs.realpath(path.join(this.deployDir, site, 'meetings.db'));
      const stat = await fs.stat(realPath);
      if (!stat.isFile()) return undefined;
      return { realPath, key: `${realPath}\0${stat.dev}:${stat.ino}`, modifiedAt: stat.mtime };
    } catch (error) {
      // A site folder without an archive (yet), or a `current` pointing at a removed version.
      if (['ENOENT', 'ENOTDIR', 'ELOOP'].includes((error as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw error;
    }
  }

  private async lease(site: Subdomain): Promise<CachedArchive | undefined> {
    if (this.closed) throw new Error('the archive server is closed');
    const found = await this.resolve(site);
    if (!found) return undefined;
    const deployment = this.cache.has(found.key) ? null : await readDeployment(found.realPath);
    // From here on synchronous: two requests racing through the awaits above share one connection.
    let entry = this.cache.get(found.key);
    if (!entry) {
      entry = { key: found.key, archive: openArchive(site, found.realPath, found.modifiedAt, deployment), leases: 0, retired: false };
      this.cache.set(found.key, entry);
    }
    const previous = this.currentKey.get(site);
    if (previous !== found.key) {
      this.currentKey.set(site, found.key);
      const old = previous === undefined ? undefined : this.cache.get(previous);
      if (old) this.retire(old);
    }
    entry.leases += 1;
    return entry;
  }

  private release(entry: CachedArchive): void {
    entry.leases -= 1;
    if (entry.retired && entry.leases === 0) entry.archive.queries.close();
  }

  private retire(entry: CachedArchive): void {
    if (entry.retired) return;
    entry.retired = true;
    this.cache.delete(entry.key);
    if (entry.leases === 0) entry.archive.queries.close();
  }
}

function asSubdomain(name: string): Subdomain | undefined {
  try {
    return parseSubdomain(name);
  } catch {
    return undefined;
  }
}

function openArchive(subdomain: Subdomain, realPath: string, modifiedAt: Date, deployment: DeploymentInfo | null): OpenArchive {
  const db = new Database(realPath, { readonly: true, fileMustExist: true });
  return { subdomain, realPath, deployment, modifiedAt, queries: new SiteQueries(db) };
}

/** deployment.json beside the version's meetings.db; absent (an older deploy) or unreadable is null. */
async function readDeployment(realPath: string): Promise<DeploymentInfo | null> {
  try {
    const parsed: unknown = JSON.parse(await fs.readFile(path.join(path.dirname(realPath), 'deployment.json'), 'utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as DeploymentInfo) : null;
  } catch {
    return null;
  }
}
