import type { DeployHookStatus, DeploymentRow } from '../db/schema.js';
import { currentVersion, publishedVersionsOnDisk } from './layout.js';

/** One version of a site as `clerk deploy list` shows it. */
export interface DeployedVersionEntry {
  version: number;
  variant: 'fast' | 'full';
  publishedAt: string;
  pages: number;
  entities: number;
  votes: number;
  sha256: string;
  /** Unknown (null) for a version only the folder knows: Postgres was unreachable, or its row was never written. */
  hookStatus: DeployHookStatus | null;
  hookError: string | null;
  runId: string;
  /** `current` points at it. */
  current: boolean;
  /** Its folder is still on disk (a rollback can switch to it); false once pruned. */
  onDisk: boolean;
}

/**
 * Every version of a site, newest first: the deployments table's rows (when given) joined with the
 * version folders on disk, so a version appears whether only one of them knows it. Which one is
 * current comes from the `current` symlink, the single truth of what readers see.
 */
export function deploymentHistory(deployDir: string, subdomain: string, rows: DeploymentRow[] | null): DeployedVersionEntry[] {
  const current = currentVersion(deployDir, subdomain);
  const entries = new Map<number, DeployedVersionEntry>();
  for (const row of rows ?? []) {
    entries.set(row.version, {
      version: row.version,
      variant: row.variant,
      publishedAt: row.published_at.toISOString(),
      pages: row.pages,
      entities: row.entity_count,
      votes: row.vote_count,
      sha256: row.sha256,
      hookStatus: row.hook_status,
      hookError: row.hook_error,
      runId: row.run_id,
      current: row.version === current,
      onDisk: false,
    });
  }
  for (const manifest of publishedVersionsOnDisk(deployDir, subdomain)) {
    const known = entries.get(manifest.version);
    if (known) {
      known.onDisk = true;
      continue;
    }
    entries.set(manifest.version, {
      version: manifest.version,
      variant: manifest.variant,
      publishedAt: manifest.publishedAt,
      pages: manifest.pages,
      entities: manifest.entities,
      votes: manifest.votes,
      sha256: manifest.sha256,
      hookStatus: null,
      hookError: null,
      runId: manifest.runId,
      current: manifest.version === current,
      onDisk: true,
    });
  }
  return [...entries.values()].sort((a, b) => b.version - a.version);
}
