import { ApplicationFailure, Context } from '@temporalio/activity';
import { archiveKey, type ArchiveVariant } from '../archive/layout.js';
import { deployEventBody, DeployHookError, hookConfigFor, hookConfigured, runDeployHook } from '../deploy/hook.js';
import { readDeploymentManifest, versionDir } from '../deploy/layout.js';
import { publishArchive } from '../deploy/publish.js';
import { publishToStore, StoreVersionConflictError } from '../deploy/store-publish.js';
import { liveArchiveFreshness, siteContentFingerprint, type ArchiveFreshness } from '../deploy/freshness.js';
import { findDeployment, highestRecordedVersion, recordHookOutcome, recordPublication } from '../deploy/records.js';
import { finishRun } from '../progress/site-progress.js';
import type { ActivityDeps } from './deps.js';
import { withHeartbeats } from './heartbeat.js';
import { tracked, workflowExecutionOf } from './tracking.js';

export interface DeployArchiveInput {
  subdomain: string;
  variant: ArchiveVariant;
}

export interface DeployedVersion {
  version: number;
  variant: ArchiveVariant;
  /** The version's meetings.db. */
  path: string;
  sha256: string;
  pages: number;
  entities: number;
  votes: number;
  /** ISO 8601. */
  publishedAt: string;
}

export function createDeployActivities(deps: ActivityDeps, options: { hookRetryBaseMs?: number } = {}) {
  const { db, store, config } = deps;
  const hook = hookConfigFor(config.deploy, options.hookRetryBaseMs);

  /**
   * Publishes the compiled archive of a variant as the site's next version (src/deploy/publish.ts),
   * records it, then tells the remote target. A retry of the same run and variant reuses its version.
   * A target that fails every attempt fails the activity for good (DeployHookFailed): the version
   * stays published locally, and the row says why the target did not get it.
   */
  async function deployArchive(input: DeployArchiveInput): Promise<DeployedVersion> {
    const run = workflowExecutionOf(Context.current().info);
    const { subdomain, variant } = input;
    const recorded = await findDeployment(db, subdomain, run.runId, variant);
    if (recorded && !readDeploymentManifest(versionDir(config.deployDir, subdomain, recorded.version))) {
      // Published by an earlier attempt and pruned since by newer versions: nothing left to do.
      return {
        version: recorded.version,
        variant,
        path: recorded.path,
        sha256: recorded.sha256,
        pages: recorded.pages,
        entities: recorded.entity_count,
        votes: recorded.vote_count,
        publishedAt: recorded.published_at.toISOString(),
      };
    }

    // Taken before the copy: nothing writes the site's rows between the full compile and its
    // deploy (one run per site at a time), so this is what the archive was compiled from.
    const contentFingerprint = variant === 'full' ? await siteContentFingerprint(db, subdomain) : null;
    const publication = await publishArchive({
      sourcePath: await store.localPath(archiveKey(subdomain, variant)),
      deployDir: config.deployDir,
      subdomain,
      variant,
      runId: run.runId,
      keep: config.deploy.keep,
      highestKnownVersion: await highestRecordedVersion(db, subdomain),
    });
    // Hosts share a remote store: upload the version and move the store's pointer, so `clerk serve`
    // and `clerk search` elsewhere pick it up. Before the hook, which may expect the store to have it.
    if (store.remote) {
      await publishToStore(store, config.deployDir, subdomain, publication.version, { keep: config.deploy.keep }).catch((error: unknown) => {
        // Another host published a different archive under this number: retrying cannot fix that.
        if (error instanceof StoreVersionConflictError) throw ApplicationFailure.create({ type: 'DeployStoreConflict', message: error.message, nonRetryable: true });
        throw error;
      });
    }
    const alreadyTold = recorded?.hook_status === 'ok';
    const hookStatus = !hookConfigured(hook) ? 'none' : alreadyTold ? 'ok' : 'pending';
    await recordPublication(db, publication, run, { status: hookStatus }, publication, contentFingerprint);

    if (hookStatus === 'pending') {
      try {
        await runDeployHook(hook, deployEventBody('publish', publication, publication.path, hook.publicUrl));
      } catch (error) {
        if (!(error instanceof DeployHookError)) throw error;
        await recordHookOutcome(db, subdomain, publication.version, { status: 'failed', error: error.message });
        throw ApplicationFailure.create({
          type: 'DeployHookFailed',
          message: `${subdomain} version ${publication.version} is published locally, but ${error.message}`,
          nonRetryable: true,
          details: [{ target: error.target, attempts: error.attempts, lastError: error.lastError, version: publication.version }],
        });
      }
      await recordHookOutcome(db, subdomain, publication.version, { status: 'ok' });
    }

    return {
      version: publication.version,
      variant,
      path: publication.path,
      sha256: publication.sha256,
      pages: publication.pages,
      entities: publication.entities,
      votes: publication.votes,
      publishedAt: publication.publishedAt,
    };
  }

  return {
    deployArchive: tracked(deps, 'deploy', (input: DeployArchiveInput) => withHeartbeats(() => deployArchive(input))),
    ...createArchiveFreshnessActivities(deps),
  };
}

export type DeployActivities = ReturnType<typeof createDeployActivities>;

/**
 * Whether the site's live archive already is a full archive of the site as it is now, so a run
 * that read nothing new can skip extraction and deploy (the incremental re-run). It reads only
 * Postgres and the live version (the store's pointer, or the deploy folder's), so besides the
 * deploy queue (runs started before the `local-bookkeeping` patch) the workflows worker hosts it
 * too, as a local activity of the site run. A workflows worker on a host without the deploy
 * folder (and no remote store) finds the version missing: the run then rebuilds, never skips wrongly.
 */
export function createArchiveFreshnessActivities(deps: ActivityDeps) {
  const { db, store, config } = deps;
  return {
    archiveIsCurrent: tracked(deps, 'deploy', async (input: { subdomain: string }): Promise<ArchiveFreshness> =>
      liveArchiveFreshness({ db, store, deployDir: config.deployDir, subdomain: input.subdomain }),
    ),
    /**
     * archiveIsCurrent, and when the archive is current the run's end (completed) recorded too: an
     * unchanged site's run (most of a nightly refresh) ends in this one step instead of two (runs
     * started since the `site-run-start-in-fetch` patch).
     */
    keepArchiveIfCurrent: tracked(deps, 'deploy', async (input: { subdomain: string }): Promise<ArchiveFreshness> => {
      const freshness = await liveArchiveFreshness({ db, store, deployDir: config.deployDir, subdomain: input.subdomain });
      if (freshness.current) await finishRun(db, input.subdomain, { stage: 'completed' });
      return freshness;
    }),
  };
}

export type ArchiveFreshnessActivities = ReturnType<typeof createArchiveFreshnessActivities>;
