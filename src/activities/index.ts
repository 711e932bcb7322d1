import type { Client } from '@temporalio/client';
import type { ExtractionThreads } from '../extract/threads.js';
import type { OcrEnginePool } from '../ocr/pool.js';
import { createBookkeepingActivities } from './bookkeeping.js';
import { createArchiveFreshnessActivities, createDeployActivities } from './deploy.js';
import type { ActivityDeps } from './deps.js';
import { createExtractionActivities } from './extraction.js';
import { createFetchActivities } from './fetch.js';
import { createFleetActivities } from './fleet.js';
import { createOcrActivities } from './ocr.js';

export type WorkerType = 'workflows' | 'fetch' | 'ocr' | 'extraction' | 'deploy';
export const workerTypes: readonly WorkerType[] = ['workflows', 'fetch', 'ocr', 'extraction', 'deploy'];

/** The activities each worker type hosts on its own task queue. */
export interface WorkerResources {
  ocrEngines: OcrEnginePool;
  extractionThreads: ExtractionThreads;
  /**
   * A client on the workers' own connection: the fleet refresh starts site runs with it, so the
   * server can hand a run's first workflow task straight to this process (eager start).
   */
  temporalClient: Client;
}

export function activitiesForWorker(type: WorkerType, deps: ActivityDeps & WorkerResources): object {
  switch (type) {
    case 'workflows':
      // archiveIsCurrent, keepArchiveIfCurrent and fetchSiteIfNothingToDownload run here too, as the
      // site run's local activities (src/workflows/activities.ts).
      return {
        ...createBookkeepingActivities(deps),
        ...createArchiveFreshnessActivities(deps),
        fetchSiteIfNothingToDownload: createFetchActivities(deps).fetchSiteIfNothingToDownload,
        ...createFleetActivities(deps),
      };
    case 'fetch':
      return createFetchActivities(deps);
    case 'ocr':
      return createOcrActivities(deps);
    case 'extraction':
      return createExtractionActivities(deps);
    case 'deploy':
      return createDeployActivities(deps);
  }
}

export type { ActivityDeps } from './deps.js';
