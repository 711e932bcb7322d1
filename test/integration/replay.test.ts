import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { documentRunPatch, liveProgressPatch } from '../../src/workflows/document.js';
import {
  documentReadsInSiteRunPatch,
  localBookkeepingPatch,
  siteRunListingInFirstTaskPatch,
  siteRunPatchesConsolidated,
  siteRunStartInFetchPatch,
} from '../../src/workflows/site.js';
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

/** The patch that stands for the older ones in each workflow type's current runs. */
const consolidatedPatchOf: Record<string, string> = { siteWorkflow: documentReadsInSiteRunPatch, documentWorkflow: documentRunPatch, pageBatchWorkflow: documentRunPatch };

/** The activity types a history schedules on a task queue (local activities are markers, not these), in order. */
function scheduledActivities(fixture: HistoryFixture): string[] {
  const events = (fixture.history as { events?: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }[] }).events ?? [];
  return events.flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));
}

/** The decoded JSON payload `detail` of each marker named `markerName` in a history, in order. */
function markerDetails<T>(fixture: HistoryFixture, markerName: string, detail: string): T[] {
  const events = (fixture.history as { events?: { markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: { data?: string }[] }> } }[] }).events ?? [];
  return events
    .map((e) => e.markerRecordedEventAttributes)
    .filter((marker) => marker?.markerName === markerName)
    .map((marker) => JSON.parse(Buffer.from(marker?.details?.[detail]?.payloads?.[0]?.data ?? '', 'base64').toString('utf8')) as T);
}

/** The local activity types a history's markers record, in order. */
function localActivities(fixture: HistoryFixture): string[] {
  return markerDetails<{ activity_type: string }>(fixture, 'core_local_activity', 'data').map((marker) => marker.activity_type);
}

/** The input of each scheduled activity of one type, in order. */
function activityInputs(fixture: HistoryFixture, type: string): unknown[] {
  const events = (fixture.history as { events?: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string }; input?: { payloads?: { data?: string }[] } } }[] }).events ?? [];
  return events
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((scheduled) => scheduled?.activityType?.name === type)
    .map((scheduled) => JSON.parse(Buffer.from(scheduled?.input?.payloads?.[0]?.data ?? '', 'base64').toString('utf8')) as unknown);
}

/** The events of a history of the given type. */
function eventTypes(fixture: HistoryFixture): string[] {
  return ((fixture.history as { events?: { eventType?: string }[] }).events ?? []).map((e) => String(e.eventType));
}

/** The patch ids a history's markers record (core writes one `core_patch` marker per patched() that took the new branch). */
function patchesIn(fixture: HistoryFixture): string[] {
  return markerDetails<{ id: string }>(fixture, 'core_patch', 'patch-data').map((patch) => patch.id);
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

  /** The fixtures of one type in a folder ('' for the current set, at the top). */
  const fixturesOf = (type: string, folder: string) =>
    files.filter((name) => (folder ? name.startsWith(`${folder}/`) : !name.includes('/'))).map(readFixture).filter((f) => f.workflowType === type);

  it.each(['siteWorkflow', 'documentWorkflow', 'pageBatchWorkflow'])(
    'covers both branches of the %s live-progress patch: the current set took it (its consolidated marker stands for it), the set recorded before it did not',
    (type) => {
      const current = fixturesOf(type, '');
      const before = fixturesOf(type, `before-${liveProgressPatch}`);
      expect(current.length).toBeGreaterThan(0);
      expect(before.length).toBeGreaterThan(0);
      for (const fixture of current) expect(patchesIn(fixture), fixture.workflowId).toEqual([consolidatedPatchOf[type]]);
      for (const fixture of before) expect(patchesIn(fixture), fixture.workflowId).not.toContain(liveProgressPatch);
    },
  );

  it('covers both branches of the local-bookkeeping patch: the current site runs schedule no bookkeeping activity, the ones recorded before it do', () => {
    const current = fixturesOf('siteWorkflow', '');
    const before = fixturesOf('siteWorkflow', `before-${localBookkeepingPatch}`);
    expect(current.length).toBeGreaterThan(0);
    expect(before.length).toBe(current.length);
    const siteRunActivities = new Set(['startRun', 'enterStage', 'listPendingDocuments', 'finishRun', 'markDocumentFailed', 'finishDocument', 'archiveIsCurrent']);
    for (const fixture of current) {
      expect(scheduledActivities(fixture).filter((type) => siteRunActivities.has(type)), fixture.workflowId).toEqual([]);
    }
    for (const fixture of before) {
      expect(patchesIn(fixture), fixture.workflowId).not.toContain(localBookkeepingPatch);
      expect(scheduledActivities(fixture).filter((type) => siteRunActivities.has(type)).length, fixture.workflowId).toBeGreaterThan(0);
    }
    // An unchanged site's run: no activity task at all (its fetch is its listing check, local).
    expect(scheduledActivities(readFixture('unchanged-rerun.siteWorkflow.json'))).toEqual([]);
  });

  it('covers both branches of the consolidated site patch: a current site run records one patch marker and one version upsert, the ones recorded before it the four patches', () => {
    const current = fixturesOf('siteWorkflow', '');
    const listingInFirstTask = fixturesOf('siteWorkflow', `before-${documentReadsInSiteRunPatch}`);
    const startingInFetch = fixturesOf('siteWorkflow', `before-${siteRunListingInFirstTaskPatch}`);
    const consolidated = fixturesOf('siteWorkflow', `before-${siteRunStartInFetchPatch}`);
    const before = fixturesOf('siteWorkflow', `before-${siteRunPatchesConsolidated}`);
    expect(before.length).toBe(current.length);
    for (const fixture of current) {
      expect(patchesIn(fixture), fixture.workflowId).toEqual([documentReadsInSiteRunPatch]);
    }
    for (const fixture of listingInFirstTask) {
      expect(patchesIn(fixture), fixture.workflowId).toEqual([siteRunListingInFirstTaskPatch]);
    }
    for (const fixture of startingInFetch) {
      expect(patchesIn(fixture), fixture.workflowId).toEqual([siteRunStartInFetchPatch]);
    }
    for (const fixture of consolidated) {
      expect(patchesIn(fixture), fixture.workflowId).toEqual([siteRunPatchesConsolidated]);
    }
    for (const fixture of before) {
      expect(patchesIn(fixture), fixture.workflowId).toEqual(['publish-fast-path-early', liveProgressPatch, 'keep-current-archive', localBookkeepingPatch]);
    }
  });

  it('covers both branches of the start-in-fetch patch: a site run with it has its fetch record its start, and an unchanged one ends in the step that keeps its archive; the ones recorded before it start and end the run in steps of their own', () => {
    const current = fixturesOf('siteWorkflow', `before-${siteRunListingInFirstTaskPatch}`);
    const before = fixturesOf('siteWorkflow', `before-${siteRunStartInFetchPatch}`);
    expect(before.length).toBe(current.length);
    const runStarts = (fixture: HistoryFixture) => activityInputs(fixture, 'fetchSite').map((input) => (input as { startsRun?: unknown }).startsRun);
    for (const fixture of current) {
      expect(localActivities(fixture), fixture.workflowId).not.toContain('startRun');
      // A first run fetches (and so starts the run); the run resumed after continue-as-new does not.
      if (!fixture.workflowId.includes('resumed') && activityInputs(fixture, 'fetchSite').length > 0) {
        expect(runStarts(fixture), fixture.workflowId).toEqual([{ workflowId: fixture.workflowId, runId: expect.any(String) }]);
      }
    }
    for (const fixture of before) {
      expect(runStarts(fixture), fixture.workflowId).toEqual(activityInputs(fixture, 'fetchSite').map(() => undefined));
    }
    // An unchanged site's run: one patch marker and one local activity (keepArchiveIfCurrent); one
    // upsert for the patch (TemporalChangeVersion) and two for its stages (fetch, completed); two
    // workflow tasks. Before the patch: startRun, archiveIsCurrent and finishRun.
    const unchanged = readFixture(`before-${siteRunListingInFirstTaskPatch}/unchanged-rerun.siteWorkflow.json`);
    expect(localActivities(unchanged)).toEqual(['keepArchiveIfCurrent']);
    expect(localActivities(readFixture(`before-${siteRunStartInFetchPatch}/unchanged-rerun.siteWorkflow.json`))).toEqual(['startRun', 'archiveIsCurrent', 'finishRun']);
    const events = eventTypes(unchanged);
    expect(events.filter((type) => type === 'EVENT_TYPE_MARKER_RECORDED')).toHaveLength(2);
    expect(events.filter((type) => type === 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES')).toHaveLength(3);
    expect(events.filter((type) => type === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED')).toHaveLength(2);
  });

  it('covers both branches of the listing-in-first-task patch: a current site run reads its listing in a local activity and schedules fetchSite only when there is something to download; the ones recorded before it always schedule fetchSite', () => {
    const current = fixturesOf('siteWorkflow', '');
    const before = fixturesOf('siteWorkflow', `before-${siteRunListingInFirstTaskPatch}`);
    expect(before.length).toBe(current.length);
    // A first run looks at its listing first, finds documents to download, and leaves them to
    // fetchSite, which records the run's start again (the first start is kept); a run resumed after
    // continue-as-new fetches nothing.
    const fetching = current.filter((fixture) => scheduledActivities(fixture).includes('fetchSite') || localActivities(fixture).includes('fetchSiteIfNothingToDownload'));
    expect(fetching.length).toBe(current.length - 1);
    for (const fixture of fetching) expect(localActivities(fixture)[0], fixture.workflowId).toBe('fetchSiteIfNothingToDownload');
    for (const fixture of before) {
      expect(localActivities(fixture), fixture.workflowId).not.toContain('fetchSiteIfNothingToDownload');
    }
    // An unchanged site's run: one workflow task, no activity task; one patch marker and two local
    // activities (the listing check, which did the fetch, and keepArchiveIfCurrent); one upsert for
    // the patch and one for the stage it ends in. Before the patch: two workflow tasks, fetchSite,
    // and an upsert for the fetch stage too.
    const unchanged = readFixture('unchanged-rerun.siteWorkflow.json');
    expect(localActivities(unchanged)).toEqual(['fetchSiteIfNothingToDownload', 'keepArchiveIfCurrent']);
    expect(scheduledActivities(unchanged)).toEqual([]);
    const events = eventTypes(unchanged);
    expect(events.filter((type) => type === 'EVENT_TYPE_MARKER_RECORDED')).toHaveLength(3);
    expect(events.filter((type) => type === 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES')).toHaveLength(2);
    expect(events.filter((type) => type === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED')).toHaveLength(1);
    expect(scheduledActivities(readFixture(`before-${siteRunListingInFirstTaskPatch}/unchanged-rerun.siteWorkflow.json`))).toEqual(['fetchSite']);
  });

  it('covers both branches of the document-reads-in-site-run patch: a current site run reads every document itself, one read named by its document, and starts a child only for a document with pages to OCR, which reads nothing; the ones recorded before it leave every read to a child', () => {
    const current = fixturesOf('siteWorkflow', '');
    const before = fixturesOf('siteWorkflow', `before-${documentReadsInSiteRunPatch}`);
    expect(before.length).toBe(current.length);
    const childrenStarted = (fixture: HistoryFixture) => eventTypes(fixture).filter((type) => type === 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED').length;
    const readIds = (fixture: HistoryFixture) => {
      const events = (fixture.history as { events?: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string }; activityId?: string } }[] }).events ?? [];
      return events.flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name === 'readTextLayer' ? [e.activityTaskScheduledEventAttributes.activityId] : []));
    };
    for (const fixture of before) expect(readIds(fixture), fixture.workflowId).toEqual([]);
    // The sample site: six documents, five with a text layer and one scanned (src/samples/sample-site.ts).
    const sample = readFixture('sample-site.siteWorkflow.json');
    const reads = readIds(sample);
    expect(reads).toHaveLength(6);
    for (const id of reads) expect(id).toMatch(/^read\/.+/);
    for (const input of activityInputs(sample, 'readTextLayer')) expect(input).toMatchObject({ settleWhenRead: true });
    expect(childrenStarted(sample)).toBe(1);
    // Having read new pages, the run knows its archive is stale and does not ask; each stage's
    // write goes out with the stage's first step.
    expect(localActivities(sample)).not.toContain('keepArchiveIfCurrent');
    expect(localActivities(readFixture(`before-${documentReadsInSiteRunPatch}/sample-site.siteWorkflow.json`))).toContain('keepArchiveIfCurrent');
    expect(childrenStarted(readFixture(`before-${documentReadsInSiteRunPatch}/sample-site.siteWorkflow.json`))).toBe(6);
    // A bad corpus: the site run records a failed read itself.
    expect(localActivities(readFixture('bad-corpus.siteWorkflow.json'))).toContain('markDocumentFailed');
    // The child of a document with pages to OCR gets its pages and OCRs them without reading the layer.
    const child = readFixture('sample-site.documentWorkflow-ocr.json');
    expect(scheduledActivities(child).filter((type) => type !== 'ocrPage')).toEqual([]);
    expect(scheduledActivities(readFixture(`before-${documentReadsInSiteRunPatch}/sample-site.documentWorkflow-ocr.json`))[0]).toBe('readTextLayer');
  });

  it('covers both branches of the document-run patch: current document runs settle locally and send no report their outcome brings, the ones recorded before it do not', () => {
    const documentActivities = new Set(['finishDocument', 'markDocumentFailed', 'markPageFailed']);
    for (const type of ['documentWorkflow', 'pageBatchWorkflow']) {
      const current = fixturesOf(type, '');
      const before = fixturesOf(type, `before-${documentRunPatch}`);
      expect(before.length, type).toBe(current.length);
      for (const fixture of current) {
        expect(patchesIn(fixture), fixture.workflowId).toEqual([documentRunPatch]);
        expect(scheduledActivities(fixture).filter((activity) => documentActivities.has(activity)), fixture.workflowId).toEqual([]);
      }
      for (const fixture of before) expect(patchesIn(fixture), fixture.workflowId).toEqual([liveProgressPatch]);
    }
    for (const folder of ['', `before-${documentRunPatch}`]) {
      expect(scheduledActivities(readFixture(`${folder ? `${folder}/` : ''}sample-site.documentWorkflow-text-layer.json`)), folder).toEqual(folder ? ['readTextLayer', 'finishDocument'] : ['readTextLayer']);
    }
    // A text-layer document: its text layer settled every page, so its outcome is its only report.
    const signals = (name: string) => eventTypes(readFixture(name)).filter((type) => type === 'EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED').length;
    expect(signals('sample-site.documentWorkflow-text-layer.json')).toBe(0);
    expect(signals(`before-${documentRunPatch}/sample-site.documentWorkflow-text-layer.json`)).toBe(1);
    // A document with pages to OCR reports its page count when it reads its text layer; since the
    // site run reads it, the run counts them itself, and a child of a few pages reports nothing.
    expect(signals(`before-${documentReadsInSiteRunPatch}/sample-site.documentWorkflow-ocr.json`)).toBe(1);
    expect(signals('sample-site.documentWorkflow-ocr.json')).toBe(0);
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
    // Both are local activities: core compares the recorded marker (the listing check) with the command.
    expect((error as Error).message).toContain("Activity type of recorded marker 'fetchSiteIfNothingToDownload' does not match activity type of local activity command 'enterStage'");
  });

  it.each([
    // Core names the recorded event the code gave no command for: the run's stage shown (upserted)
    // before its fetch, where the changed code asks for a local activity first.
    [documentReadsInSiteRunPatch, "Activity type of recorded marker 'fetchSiteIfNothingToDownload' does not match activity type of local activity command 'enterStage'"],
    [siteRunListingInFirstTaskPatch, 'No command scheduled for event HistoryEvent(id: 7, UpsertWorkflowSearchAttributes)'],
    [siteRunStartInFetchPatch, "Activity type of recorded marker 'startRun' does not match activity type of local activity command 'enterStage'"],
  ])('fails the same way on a history recorded before the %s patch, naming the step', async (patch, message) => {
    const error: unknown = await replay(changedBundle, readFixture(`before-${patch}/sample-site.siteWorkflow.json`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeterminismViolationError);
    expect((error as Error).message).toContain(message);
  });

  it('still replays the workflows that the change left alone', async () => {
    await expect(replay(changedBundle, readFixture('sample-site.documentWorkflow-ocr.json'))).resolves.toBeUndefined();
  });
});
