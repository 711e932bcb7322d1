import { expect } from 'vitest';
import { recordUndownloadableDocument } from '../../src/progress/documents.js';
import { saveSite } from '../../src/sites/repository.js';
import { enqueueSite } from '../../src/temporal/site-runs.js';
import type { Harness } from './harness.js';

/**
 * A site whose listing is gone (a 404, a permanent error): its run fails in the fetch stage. It
 * also gets one listed document that could not be downloaded (HTTP 410), as a fetch would record
 * it. The failure views (`clerk failures`, `clerk status`) are tested against it.
 */
export async function runBrokenSite(harness: Harness, subdomain: string, serverUrl: string): Promise<void> {
  await saveSite(harness.db, { subdomain, name: 'Broken', fetcher: 'http-index', sourceUrl: `${serverUrl}/missing/index.html` });
  const broken = await enqueueSite(harness.client, harness.config, subdomain);
  await expect(harness.client.workflow.getHandle(broken.workflowId, broken.runId).result()).rejects.toThrow();
  await recordUndownloadableDocument(
    harness.db,
    { id: `${subdomain}:agenda:CityCouncil:2026-03-01`, subdomain, kind: 'agenda', meeting: 'City Council', meetingSlug: 'CityCouncil', date: '2026-03-01', sourceUrl: `${serverUrl}/gone.pdf`, storageKey: 'gone.pdf' },
    { reason: 'http-error', error: 'HTTP 410 Gone' },
  );
}
