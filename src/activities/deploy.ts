import { Context } from '@temporalio/activity';
import { countArchiveRows } from '../archive/compile.js';
import { archiveKey, type ArchiveVariant } from '../archive/layout.js';
import { publishArchive } from '../deploy/publish.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeats } from './heartbeat.js';
import { tracked, workflowExecutionOf } from './tracking.js';

export function createDeployActivities(deps: ActivityDeps) {
  const { db, store, config } = deps;

  /** Publishes the compiled archive atomically and records the deployment. */
  async function deployArchive(input: { subdomain: string; variant: ArchiveVariant }): Promise<{ path: string; sha256: string }> {
    const workflowExecution = workflowExecutionOf(Context.current().info);
    const source = await store.localPath(archiveKey(input.subdomain, input.variant));
    const published = await publishArchive(source, config.deployDir, input.subdomain);
    const rows = countArchiveRows(published.path);
    const deployment = {
      workflow_id: workflowExecution.workflowId,
      variant: input.variant,
      path: published.path,
      sha256: published.sha256,
      byte_size: published.byteSize,
      minutes_rows: rows.minutesRows,
      agenda_rows: rows.agendaRows,
      deployed_at: new Date(),
    };
    await db
      .insertInto('deployments')
      .values({ subdomain: input.subdomain, run_id: workflowExecution.runId, ...deployment })
      .onConflict((oc) => oc.columns(['subdomain', 'run_id']).doUpdateSet(deployment))
      .execute();
    return { path: published.path, sha256: published.sha256 };
  }

  return { deployArchive: tracked(deps, 'deploy', (input: { subdomain: string; variant: ArchiveVariant }) => withHeartbeats(() => deployArchive(input))) };
}

export type DeployActivities = ReturnType<typeof createDeployActivities>;
