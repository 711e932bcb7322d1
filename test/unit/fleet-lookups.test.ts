import { describe, expect, it } from 'vitest';
import { ASK_TEMPORAL_AFTER_MS, ASK_TEMPORAL_EVERY_MS, TemporalLookups } from '../../src/activities/fleet.js';

/** Which of a bounded refresh's open sites `sitesStillRunning` asks Temporal about. */
describe('the fleet refresh asks Temporal only about sites slow to record their end', () => {
  const enqueuedAtMs = 1_000_000;
  const site = (subdomain: string, enqueuedAgoMs: number) => ({ subdomain, enqueuedAtMs: enqueuedAtMs - enqueuedAgoMs });

  it('never asks about a site enqueued less than ASK_TEMPORAL_AFTER_MS ago', () => {
    const lookups = new TemporalLookups();
    expect(lookups.due([site('quick.ca', 0), site('recent.ca', ASK_TEMPORAL_AFTER_MS - 1)], enqueuedAtMs)).toEqual([]);
  });

  it('asks about a slow site once, then again only after ASK_TEMPORAL_EVERY_MS', () => {
    const lookups = new TemporalLookups();
    const slow = site('slow.ca', ASK_TEMPORAL_AFTER_MS);
    expect(lookups.due([slow], enqueuedAtMs)).toEqual([slow]);
    expect(lookups.due([slow], enqueuedAtMs + 250)).toEqual([]);
    expect(lookups.due([slow], enqueuedAtMs + ASK_TEMPORAL_EVERY_MS - 1)).toEqual([]);
    expect(lookups.due([slow], enqueuedAtMs + ASK_TEMPORAL_EVERY_MS)).toEqual([slow]);
  });

  it('asks about each slow site on its own schedule', () => {
    const lookups = new TemporalLookups();
    const first = site('first.ca', ASK_TEMPORAL_AFTER_MS);
    const second = site('second.ca', 0);
    expect(lookups.due([first, second], enqueuedAtMs)).toEqual([first]);
    expect(lookups.due([first, second], enqueuedAtMs + ASK_TEMPORAL_AFTER_MS)).toEqual([second]);
  });
});
