import { z } from 'zod';
import type { DocumentKind } from '../db/schema.js';
import { parseEntries } from './json.js';
import { meetingDateField, odataFilter, odataUrl, pagesByNextLink } from './odata.js';
import type { Fetcher } from './types.js';


/**
 * One event of the CivicClerk public API (`GET <api>/Events`), as far as clerk reads it. Real
 * events carry more (id, eventDescription, eventDate, agendaId, eventLocation, hasMedia, and the
 * `agendaFile`/`minutesFile` slots, which stay empty: `publishedFiles` is what the portal shows).
 */
function civicclerkEvent(timeZone: string) {
  return z
    .object({
      eventName: z.string().nullish(),
      categoryName: z.string().nullish(),
      // "2023-01-11T02:00:00Z": an instant, whose date is read in the site's time zone.
      startDateTime: meetingDateField(timeZone),
      publishedFiles: z
        .array(
          z.object({
            fileId: z.number().int(),
            type: z.string(),
            publishOn: z.string().nullish(),
          }),
        )
        .nullish(),
    })
    .refine((event) => meetingOf(event) !== '', { message: 'neither categoryName nor eventName names the meeting', path: ['categoryName'] });
}

/**
 * Reads a CivicClerk portal through its public OData API. `--url` is the client's API root,
 * `https://<client>.api.civicclerk.com/v1` (the portal itself is <client>.portal.civicclerk.com).
 * The meeting is the event's category (the body: "City Council"), or its name when it has none.
 * Each published file of type Agenda or Minutes is listed by the stream link the portal uses;
 * packets, notices and the plain-text rendering (`plainText=true`) are not listed.
 *
 * `startDateTime` carries a Z and is read as UTC, so a 7 pm Pacific meeting written
 * "...T03:00:00Z" keeps its own date. Some portals are said to write local wall-clock time with a
 * Z instead; on such a site in the Americas only a meeting that starts earlier in the day than the
 * zone's offset from UTC (before 8 am Pacific) would be dated the day before.
 */
export const civicclerkFetcher: Fetcher = {
  name: 'civicclerk',
  description: 'CivicClerk public API (--url https://<client>.api.civicclerk.com/v1): published agenda and minutes files',

  async discover(site, options, { http, discovery }) {
    const builder = discovery(options);
    const api = site.baseUrl.replace(/\/+$/, '');
    // A meeting's local date can be the UTC date before or after its instant: the filter asks one
    // day wider on each side, and the builder keeps only the dates asked for.
    const filter = odataFilter(
      options.since && `startDateTime ge ${utcMidnight(options.since, -1)}`,
      options.until && `startDateTime lt ${utcMidnight(options.until, 2)}`,
    );
    const events = odataUrl(`${api}/Events`, { $filter: filter, $orderby: 'startDateTime asc, eventName asc' });
    const schema = civicclerkEvent(site.timeZone);
    for await (const page of pagesByNextLink(http, events, { signal: options.signal })) {
      for (const event of parseEntries(schema, page.entries, (_, reason) => builder.reject(page.shownUrl, reason))) {
        for (const file of event.publishedFiles ?? []) {
          const kind = kindOfFile(file.type);
          if (!kind) continue;
          builder.add({
            kind,
            meeting: meetingOf(event),
            date: event.startDateTime,
            url: `${api}/Meetings/GetMeetingFileStream(fileId=${file.fileId},plainText=false)`,
            version: file.publishOn ?? undefined,
          });
        }
      }
    }
    return builder.finish();
  },
};

/**
 * The `publishedFiles` types that are the agenda and the minutes themselves. The others ("Agenda
 * Packet", "Minutes Packet", "Notice", "Other") bundle or accompany them and are skipped.
 */
function kindOfFile(type: string): DocumentKind | undefined {
  const name = type.trim().toLowerCase();
  return name === 'agenda' ? 'agenda' : name === 'minutes' ? 'minutes' : undefined;
}

function meetingOf(event: { categoryName?: string | null; eventName?: string | null }): string {
  return event.categoryName?.trim() || event.eventName?.trim() || '';
}

/** "2023-01-10", -1 -> "2023-01-09T00:00:00Z": an OData v4 DateTimeOffset literal. */
function utcMidnight(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number);
  return `${new Date(Date.UTC(year!, month! - 1, day! + days)).toISOString().slice(0, 10)}T00:00:00Z`;
}
