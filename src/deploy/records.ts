import type { Db } from '../db/connect.js';
import type { DeployHookStatus, DeploymentRow } from '../db/schema.js';
import type { Publication } from './publish.js';

/** The row a (site, run, variant) already has: a retried deploy reuses its version. */
export function findDeployment(db: Db, subdomain: string, runId: string, variant: 'fast' | 'full'): Promise<DeploymentRow | undefined> {
  return db.selectFrom('deployments').selectAll().where('subdomain', '=', subdomain).where('run_id', '=', runId).where('variant', '=', variant).executeTakeFirst();
}

/** The highest version the table knows for a site (0 without any), so a pruned number is never reused. */
export async function highestRecordedVersion(db: Db, subdomain: string): Promise<number> {
  const row = await db.selectFrom('deployments').select((eb) => eb.fn.max('version').as('highest')).where('subdomain', '=', subdomain).executeTakeFirst();
  return Number(row?.highest ?? 0);
}

/** Writes (or, for a retry, rewrites) the row of a publication. */
export async function recordPublication(
  db: Db,
  publication: Publication,
  run: { workflowId: string; runId: string },
  hook: { status: DeployHookStatus; error?: string | null },
  rows: { minutesRows: number; agendaRows: number },
  contentFingerprint: string | null = null,
): Promise<void> {
  const values = {
    workflow_id: run.workflowId,
    version: publication.version,
    path: publication.path,
    sha256: publication.sha256,
    byte_size: publication.byteSize,
    minutes_rows: rows.minutesRows,
    agenda_rows: rows.agendaRows,
    pages: publication.pages,
    entity_count: publication.entities,
    vote_count: publication.votes,
    published_at: publication.publishedAt,
    hook_status: hook.status,
    hook_error: hook.error ?? null,
    content_fingerprint: contentFingerprint,
    deployed_at: new Date(),
  };
  await db
    .insertInto('deployments')
    .values({ subdomain: publication.subdomain, run_id: run.runId, variant: publication.variant, ...values })
    .onConflict((oc) => oc.columns(['subdomain', 'run_id', 'variant']).doUpdateSet(values))
    .execute();
}

export async function recordHookOutcome(db: Db, subdomain: string, version: number, hook: { status: DeployHookStatus; error?: string | null }): Promise<void> {
  await db
    .updateTable('deployments')
    .set({ hook_status: hook.status, hook_error: hook.error ?? null, deployed_at: new Date() })
    .where('subdomain', '=', subdomain)
    .where('version', '=', version)
    .execute();
}

/** A site's publications, newest version first. */
export function listDeployments(db: Db, subdomain: string): Promise<DeploymentRow[]> {
  return db.selectFrom('deployments').selectAll().where('subdomain', '=', subdomain).orderBy('version', 'desc').execute();
}
