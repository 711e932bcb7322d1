import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { liveProgressPatch } from '../../src/workflows/document.js';
import { localBookkeepingPatch } from '../../src/workflows/site.js';
import * as workflows from '../../src/workflows/index.js';
import { quietLogger, workflowBundle } from '../support/harness.js';
import type { HistoryFixture } from '../support/history-fixture.js';

/**
 * The determinism guard: histories recorded from real runs (scripts/record-histories.ts) are
 * replayed against the workflow code as it is now. A change that would break a run in flight
 * (an activity or child added, removed or reordered without patched()) fails here, not in
 * production. No server is needed: replay runs in a local replay worker.
 * How to change workflows safely, and when to re-record: docs/WORKFLOW-CHANGES.md.
 */

const fixturesDir = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const nondeterministicWorkflowsPath = fileURLToPath(new URL('../fixtures/nondeterministic-workflows/index.ts', import.meta.url));


/** Every *.json under the fixtures folder, subfolders included (older versions kept beside new ones). */
function fixtureFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.split(path.sep).join('/'))
    .sort();
}

function readFixture(name: string): HistoryFixture {
  return JSON.parse(fs.readFileSync(path.join(fixturesDir, name), 'utf8')) as HistoryFixture;
}

function replay(bundle: { code: string }, fixture: HistoryFixture): Promise<void> {
  return Worker.runReplayHistory({ workflowBundle: bundle }, historyFromJSON(fixture.history), fixture.workflowId);
}

/** The activity types a history schedules on a task queue (local activities are markers, not these), in order. */
function scheduledActivities(fixture: HistoryFixture): string[] {
  const events = (fixture.history as { events?: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }[] }).events ?? [];
  return events.flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));
}

/** The patch ids a history's markers record (core writes one `core_patch` marker per patched() that took the new branch). */
function patchesIn(fixture: HistoryFixture): string[] {
  const events = (fixture.history as { events?: { markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: { data?: string }[] }> } }[] }).events ?? [];
  return events
    .map((e) => e.markerRecordedEventAttributes)
    .filter((marker) => marker?.markerName === 'core_patch')
    .map((marker) => {
      const data = marker?.details?.['patch-data']?.payloads?.[0]?.data ?? '';
      return (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id: string }).id;
    });
}

const files = fixtureFiles(fixturesDir);

describe('replaying recorded workflow histories against the current workflow code', () => {
  let bundle: { code: string };

  beforeAll(async () => {
    bundle = await workflowBundle();
  });

  it('has at least one recorded history for every workflow type the workers register', () => {
    const registered = Object.entries(workflows)
      .filter(([, value]) => typeof value === 'function')
      .map(([name]) => name)
      .sort();
    const recorded = new Set(files.map((name) => readFixture(name).workflowType));
    expect(registered.length).toBeGreaterThan(0);
    expect(registered.filter((type) => !recorded.has(type))).toEqual([]);
  });

  it.each(['siteWorkflow', 'documentWorkflow', 'pageBatchWorkflow'])(
    'covers both branches of the %s live-progress patch: the current set took it, the set recorded before it did not',
    (type) => {
      const ofType = (folder: string) =>
        files.filter((name) => (folder ? name.startsWith(`${folder}/`) : !name.includes('/'))).map(readFixture).filter((f) => f.workflowType === type);
      const current = ofType('');
      const before = ofType(`before-${liveProgressPatch}`);
      expect(current.length).toBeGreaterThan(0);
      expect(before.length).toBeGreaterThan(0);
      for (const fixture of current) expect(patchesIn(fixture), fixture.workflowId).toContain(liveProgressPatch);
      for (const fixture of before) expect(patchesIn(fixture), fixture.workflowId).not.toContain(liveProgressPatch);
    },
  );

  it('covers both branches of the local-bookkeeping patch: the current site runs schedule no bookkeeping activity, the ones recorded before it do', () => {
    const siteRuns = (folder: string) =>
      files.filter((name) => (folder ? name.startsWith(`${folder}/`) : !name.includes('/'))).map(readFixture).filter((f) => f.workflowType === 'siteWorkflow');
    const current = siteRuns('');
    const before = siteRuns(`before-${localBookkeepingPatch}`);
    expect(current.length).toBeGreaterThan(0);
    expect(before.length).toBe(current.length);
    const siteRunActivities = new Set(['startRun', 'enterStage', 'listPendingDocuments', 'finishRun', 'markDocumentFailed', 'finishDocument', 'archiveIsCurrent']);
    for (const fixture of current) {
      expect(patchesIn(fixture), fixture.workflowId).toContain(localBookkeepingPatch);
      expect(scheduledActivities(fixture).filter((type) => siteRunActivities.has(type)), fixture.workflowId).toEqual([]);
    }
    for (const fixture of before) {
      expect(patchesIn(fixture), fixture.workflowId).not.toContain(localBookkeepingPatch);
      expect(scheduledActivities(fixture).filter((type) => siteRunActivities.has(type)).length, fixture.workflowId).toBeGreaterThan(0);
    }
    // An unchanged site's run: its fetch is the one activity task left.
    expect(scheduledActivities(readFixture('unchanged-rerun.siteWorkflow.json'))).toEqual(['fetchSite']);
  });

  it.each(files)('replays %s without a determinism error', async (name) => {
    const fixture = readFixture(name);
    expect(fixture.events).toBeGreaterThan(0);
    await expect(replay(bundle, fixture)).resolves.toBeUndefined();
  });
});

describe('the replay guard', () => {
  let changedBundle: { code: string };

  beforeAll(async () => {
    changedBundle = await bundleWorkflowCode({ workflowsPath: nondeterministicWorkflowsPath, logger: quietLogger });
  });

  it('fails with a DeterminismViolationError when siteWorkflow calls its activities in a different order', async () => {
    const fixture = readFixture('sample-site.siteWorkflow.json');
    const error: unknown = await replay(changedBundle, fixture).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeterminismViolationError);
    // Core names both sides of the mismatch: the recorded activity and the one the code asked for.
    // (Since the local-bookkeeping patch both are local activities: core compares their markers the same way.)
    expect((error as Error).message).toContain("Activity type of recorded marker 'startRun' does not match activity type of local activity command 'enterStage'");
  });

  it('still replays the workflows that the change left alone', async () => {
    await expect(replay(changedBundle, readFixture('sample-site.documentWorkflow-ocr.json'))).resolves.toBeUndefined();
  });
});
