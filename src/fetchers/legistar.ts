import { z } from 'zod';
import { parseEntries } from './json.js';
import { printable } from './meeting.js';
import { meetingDateField, odataFilter, odataUrl, pagesBySkip } from './odata.js';
import type { Fetcher } from './types.js';

/** The most events Legistar returns per request, whatever `$top` asks for. */
const LEGISTAR_MAX_PAGE = 1000;

/**
 * One event of the Legistar Web API (`GET /v1/<client>/events`), as far as clerk reads it. Real
 * events carry many more fields (EventId, EventGuid, EventTime, EventLocation, EventVideoPath, EventMedia,
 * EventInSiteURL, EventItems...), which are left alone: the video and the InSite HTML page are not
 * agenda or minutes PDFs.
 */
function legistarEvent(timeZone: string) {
  return z.object({
    EventBodyName: z.string(),
    // "2023-01-10T00:00:00": the meeting's local date at midnight, with no zone.
    EventDate: meetingDateField(timeZone),
    EventAgendaFile: z.string().nullish(),
    EventMinutesFile: z.string().nullish(),
    EventLastModifiedUtc: z.string().nullish(),
    EventAgendaLastPublishedUTC: z.string().nullish(),
    EventMinutesLastPublishedUTC: z.string().nullish(),
  });
}

/**
 * Reads a Legistar client through its public Web API. `--url` is the client's API root,
 * `https://webapi.legistar.com/v1/<client>`. Each event names its body (the meeting), its date,
 * and at most one agenda and one minutes PDF (`EventAgendaFile`, `EventMinutesFile`, null until
 * published), kept on Granicus's file hosts (legistar1/2/3.granicus.com). An event without files
 * (a cancelled or future meeting) lists nothing; an event with a bad field is rejected, naming it.
 */
export const legistarFetcher: Fetcher = {
  name: 'legistar',
  description: 'Legistar Web API (--url https://webapi.legistar.com/v1/<client>): each event\'s agenda and minutes PDFs',
  settings: {
    token: 'Web API token, for clients that require one (New York City does); sent as the token query parameter',
    page_size: `events asked for per request, 1 to ${LEGISTAR_MAX_PAGE} (default ${LEGISTAR_MAX_PAGE}, the most Legistar returns)`,
  },

  // The API host lists files on Granicus's storage hosts (legistar1.granicus.com,
  // legistar2.granicus.com, ...), which grow in number as Granicus adds them.
  defaultAllowedHosts: () => ['*.granicus.com'],

  validateSettings(settings) {
    pageSizeOf(settings);
    if (settings.token !== undefined && !/^[\x21-\x7e]+$/.test(settings.token)) {
      throw new Error('setting token must be the Web API token as Legistar issued it: printable characters, no spaces');
    }
  },

  async discover(site, options, { http, discovery }) {
    const builder = discovery(options);
    // Legistar's EventDate is the local date at midnight, so whole dates bound it exactly.
    const filter = odataFilter(
      options.since && `EventDate ge datetime'${options.since}'`,
      options.until && `EventDate le datetime'${options.until}'`,
    );
    // Ordered by the unique id, so no event moves between pages while they are read.
    const events = odataUrl(`${site.baseUrl.replace(/\/+$/, '')}/events`, { $filter: filter, $orderby: 'EventId', token: site.settings.token });
    const schema = legistarEvent(site.timeZone);
    const pages = pagesBySkip(http, events, pageSizeOf(site.settings), { signal: options.signal, secretParams: ['token'] });
    for await (const page of pages) {
      const good = parseEntries(schema, page.entries, (_, reason) => builder.reject(page.shownUrl, reason));
      for (const event of good) {
        const files = [
          { kind: 'agenda' as const, url: event.EventAgendaFile, published: event.EventAgendaLastPublishedUTC },
          { kind: 'minutes' as const, url: event.EventMinutesFile, published: event.EventMinutesLastPublishedUTC },
        ];
        for (const { kind, url, published } of files) {
          if (!url) continue;
          // The file's own publication stamp says when it changed; the event's stamp, which also
          // moves for edits that leave the file alone, stands in where a client does not keep it.
          builder.add({ kind, meeting: event.EventBodyName, date: event.EventDate, url, version: published ?? event.EventLastModifiedUtc ?? undefined });
        }
      }
    }
    return builder.finish();
  },
};

function pageSizeOf(settings: Readonly<Record<string, string>>): number {
  const raw = settings.page_size;
  if (raw === undefined) return LEGISTAR_MAX_PAGE;
  const size = Number(raw);
  // Legistar silently returns at most 1000: asking for more would end paging after one page.
  if (!/^\d+$/.test(raw) || size < 1 || size > LEGISTAR_MAX_PAGE) {
    throw new Error(`setting page_size must be a whole number from 1 to ${LEGISTAR_MAX_PAGE}, got "${printable(raw)}"`);
  }
  return size;
}
