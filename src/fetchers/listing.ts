import { createHash } from 'node:crypto';
import type { DocumentKind } from '../db/schema.js';
import { meetingSlug, normalizeMeetingName, parseMeetingDate, printable } from './meeting.js';
import type { DiscoveredDocument, Discovery, DiscoverOptions, RejectedListing } from './types.js';

export interface ListingEntry {
  kind: DocumentKind;
  meeting: string;
  /** YYYY-MM-DD, already in the site's time zone (meeting.ts has the converters). */
  date: string;
  /** Absolute, or relative to `base`. */
  url: string;
  version?: string;
}

/**
 * Collects what a fetcher reads from a platform's listings and turns it into a Discovery every
 * fetcher shapes the same way: names and dates validated (a bad entry is rejected with its reason,
 * never fatal), meetings outside the requested dates left out, the same URL listed twice kept once,
 * and two documents of one meeting on one day both kept, apart.
 */
export class DiscoveryBuilder {
  private readonly documents: DiscoveredDocument[] = [];
  private readonly rejected: RejectedListing[] = [];

  constructor(private readonly options: Pick<DiscoverOptions, 'since' | 'until'> & { allowFileUrls?: boolean } = {}) {}

  /**
   * Adds an entry. In the function form the entry is described inside the same guard, so a thrown
   * reason rejects only it; `listedUrl` then names it in the rejection (else the base does).
   */
  add(entry: ListingEntry | (() => ListingEntry), base?: string | URL, listedUrl?: string): void {
    let url = typeof entry === 'function' ? listedUrl : entry.url;
    try {
      const raw = typeof entry === 'function' ? entry() : entry;
      url = raw.url;
      const absolute = base === undefined ? new URL(raw.url) : new URL(raw.url, base);
      if (absolute.protocol !== 'http:' && absolute.protocol !== 'https:' && !(this.options.allowFileUrls && absolute.protocol === 'file:')) {
        throw new Error(`link "${printable(raw.url)}" is not http(s)`);
      }
      const meeting = normalizeMeetingName(raw.meeting);
      this.documents.push({
        kind: raw.kind,
        meeting,
        meetingSlug: meetingSlug(meeting),
        date: parseMeetingDate(raw.date),
        url: absolute.href,
        ...(raw.version ? { version: raw.version } : {}),
      });
    } catch (error) {
      this.reject(url === undefined ? String(base ?? '') : base === undefined ? url : safeResolve(url, base), (error as Error).message);
    }
  }

  reject(url: string, reason: string): void {
    this.rejected.push({ url, reason });
  }

  /** True when a meeting on this date is inside the requested range. */
  wants(date: string): boolean {
    return (!this.options.since || date >= this.options.since) && (!this.options.until || date <= this.options.until);
  }

  finish(): Discovery {
    const seenUrls = new Set<string>();
    const wanted = this.documents.filter((doc) => {
      const key = `${doc.kind} ${doc.url}`;
      if (!this.wants(doc.date) || seenUrls.has(key)) return false;
      seenUrls.add(key);
      return true;
    });
    const groups = new Map<string, DiscoveredDocument[]>();
    for (const doc of wanted) {
      const identity = `${doc.kind}/${doc.meetingSlug}/${doc.date}`;
      groups.set(identity, [...(groups.get(identity) ?? []), doc]);
    }
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      // The first by URL keeps the plain name (and the original's path); the rest get a suffix
      // that stays the same for the same URL on every run.
      group.sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
      for (const doc of group.slice(1)) doc.part = createHash('sha256').update(doc.url).digest('hex').slice(0, 8);
    }
    const documents = wanted.sort((a, b) => a.date.localeCompare(b.date) || a.kind.localeCompare(b.kind) || a.meetingSlug.localeCompare(b.meetingSlug) || (a.part ?? '').localeCompare(b.part ?? ''));
    return { documents, rejected: this.rejected };
  }
}

function safeResolve(url: string, base: string | URL): string {
  try {
    return new URL(url, base).href;
  } catch {
    return url;
  }
}
