import type { Db } from '../../src/db/connect.js';
import { activityCoveredSeconds, jobDurations, jobTimes } from './corpus.js';

/** The arithmetic mean; NaN for no values. */
export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of latency samples (NaN when there are none). */
export function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return { p50: at(50), p90: at(90), p99: at(99), max: sorted.at(-1) ?? NaN };
}

/**
 * Where a pipeline run's wall time went, from job_tracking: the first start to the last finish of
 * each activity type, and the time no activity was running (orchestration and queueing).
 */
export async function pipelineStageMetrics(db: Db, subdomain: string, wallSeconds: number): Promise<Record<string, number>> {
  const times = await jobTimes(db, subdomain);
  const compiles = await jobDurations(db, subdomain, 'compileArchive');
  const covered = await activityCoveredSeconds(db, subdomain);
  const stageSpan = (jobType: string) => round(times.find((t) => t.jobType === jobType)?.spanSeconds ?? 0);
  return {
    'pipeline.fetchSite': stageSpan('fetchSite'),
    'pipeline.readTextLayer': stageSpan('readTextLayer'),
    'pipeline.extractEntities': stageSpan('extractEntities'),
    // The fast compile starts beside extractEntities; the full one after it.
    'pipeline.compileArchive.fast': round(compiles[0] ?? 0),
    'pipeline.compileArchive.full': round(compiles[1] ?? 0),
    'pipeline.deployArchive': stageSpan('deployArchive'),
    'pipeline.activityCount': times.reduce((sum, t) => sum + t.count, 0),
    'pipeline.idleSeconds': round(wallSeconds - covered),
  };
}
