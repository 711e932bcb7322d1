import fs from 'node:fs';
import path from 'node:path';
import type { ArchiveVariant } from '../archive/layout.js';

/**
 * The deploy folder, a contract shared by deploy, `clerk serve` and `clerk search`:
 *
 *   <deployDir>/<site>/versions/<version>/meetings.db
 *   <deployDir>/<site>/versions/<version>/deployment.json   (a DeploymentManifest)
 *   <deployDir>/<site>/current      -> versions/<version>    (relative symlink, switched by rename(2))
 *   <deployDir>/<site>/meetings.db  -> current/meetings.db   (the stable path older tools open)
 *
 * A version folder without deployment.json is being published (or its publication died): readers
 * ignore it. Everything here is synchronous and cheap, so a request handler can call it per request
 * and see a switch of `current` without a restart.
 */

/** What `deployment.json` holds: everything about one published version, readable without Postgres. */
export interface DeploymentManifest {
  subdomain: string;
  version: number;
  variant: ArchiveVariant;
  sha256: string;
  byteSize: number;
  /** Rows of `minutes` plus rows of `agendas`. */
  pages: number;
  /** Persons, organisations and locations, summed over every page. */
  entities: number;
  votes: number;
  /** ISO 8601. */
  publishedAt: string;
  runId: string;
}

export const ARCHIVE_FILE = 'meetings.db';
export const MANIFEST_FILE = 'deployment.json';
/** Written into a version folder as soon as it is reserved, so a retried publication finds its own. */
export const RESERVATION_FILE = 'publishing.json';
export const CURRENT_LINK = 'current';
const VERSION_NAME = /^[1-9]\d{0,8}$/;

export function siteDeployDir(deployDir: string, subdomain: string): string {
  return path.join(deployDir, subdomain);
}

export function versionsDir(deployDir: string, subdomain: string): string {
  return path.join(deployDir, subdomain, 'versions');
}

export function versionDir(deployDir: string, subdomain: string, version: number): string {
  return path.join(versionsDir(deployDir, subdomain), String(version));
}

/** The archive of one version, whether or not it is current. */
export function versionArchivePath(deployDir: string, subdomain: string, version: number): string {
  return path.join(versionDir(deployDir, subdomain, version), ARCHIVE_FILE);
}

/** The stable path (`<site>/meetings.db`), a symlink through `current`; what `clerk search` opens. */
export function stableArchivePath(deployDir: string, subdomain: string): string {
  return path.join(deployDir, subdomain, ARCHIVE_FILE);
}

/** The target `current` points at for a version: relative, so the deploy folder can be moved or mounted elsewhere. */
export function currentLinkTarget(version: number): string {
  return `versions/${version}`;
}

/** The version `current` points at, or null when the site has no versioned deployment. */
export function currentVersion(deployDir: string, subdomain: string): number | null {
  let target: string;
  try {
    target = fs.readlinkSync(path.join(deployDir, subdomain, CURRENT_LINK));
  } catch {
    return null;
  }
  const match = /^versions\/(\d+)\/?$/.exec(target);
  return match ? Number(match[1]) : null;
}

/**
 * The real path of the archive a reader should open now: the current version's meetings.db, or a
 * site's plain `meetings.db` from before versioned deploys; null when the site has none. The path
 * names the version, so a reader that caches open databases by path reopens after a switch, and a
 * database it already has open stays readable even after its version is pruned.
 */
export function currentArchivePath(deployDir: string, subdomain: string): string | null {
  const version = currentVersion(deployDir, subdomain);
  if (version !== null) {
    const archive = versionArchivePath(deployDir, subdomain, version);
    return fs.existsSync(archive) ? archive : null;
  }
  const legacy = stableArchivePath(deployDir, subdomain);
  try {
    return fs.lstatSync(legacy).isFile() ? legacy : null;
  } catch {
    return null;
  }
}

/** The manifest of a version folder, or null when the folder is missing or not completely published. */
export function readDeploymentManifest(versionFolder: string): DeploymentManifest | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(versionFolder, MANIFEST_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as DeploymentManifest;
  } catch {
    return null;
  }
}

/** The current version's manifest (null without a versioned deployment). */
export function currentDeploymentManifest(deployDir: string, subdomain: string): DeploymentManifest | null {
  const version = currentVersion(deployDir, subdomain);
  return version === null ? null : readDeploymentManifest(versionDir(deployDir, subdomain, version));
}

/** Every version folder on disk, published or not, in ascending order. */
export function versionFoldersOnDisk(deployDir: string, subdomain: string): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(versionsDir(deployDir, subdomain));
  } catch {
    return [];
  }
  return names
    .filter((name) => VERSION_NAME.test(name))
    .map(Number)
    .sort((a, b) => a - b);
}

/** The completely published versions on disk (those with a manifest), oldest first. */
export function publishedVersionsOnDisk(deployDir: string, subdomain: string): DeploymentManifest[] {
  return versionFoldersOnDisk(deployDir, subdomain)
    .map((version) => readDeploymentManifest(versionDir(deployDir, subdomain, version)))
    .filter((manifest): manifest is DeploymentManifest => manifest !== null);
}

/** Sites with an archive to read (versioned or from before), sorted by name. */
export function deployedSites(deployDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(deployDir);
  } catch {
    return [];
  }
  return names.filter((name) => !name.startsWith('.') && currentArchivePath(deployDir, name) !== null).sort();
}
