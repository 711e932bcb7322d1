import { z } from 'zod';
import type { DocumentKind } from '../db/schema.js';
import { parseEntries, parseListing } from './json.js';
import { meetingDateField } from './odata.js';
import type { Fetcher } from './types.js';

const PUBLIC_PORTAL_API = '/api/v2/PublicPortal';

/** PrimeGov's `compileOutputType`: 1 is the compiled PDF, 3 the HTML agenda shown in the portal. */
const COMPILED_PDF = 1;

const archivedYears = z.array(z.number().int());
/** Meeting dates clerk accepts at all; a year list naming others is not asked about them. */
const MIN_YEAR = 1900;
const MAX_YEAR = 2100;
const meetingList = z.array(z.unknown());

/**
 * One meeting of PrimeGov's public portal API, as far as clerk reads it. Real meetings carry
 * more (committeeId, endDateTime, videoUrl, swagitId, zoomMeetingLink, location...); video is
 * not an agenda or minutes PDF and is left alone.
 */
function primegovMeeting(timeZone: string) {
  return z.object({
    title: z.string(),
    // "2023-01-10T18:00:00": local wall-clock time, with no zone.
    dateTime: meetingDateField(timeZone),
    documentList: z.array(
      z.object({
        templateId: z.number().int(),
        templateName: z.string(),
        compileOutputType: z.number().int(),
        publishDate: z.string().nullish(),
      }),
    ),
  });
}

/**
 * Reads a PrimeGov public portal (`--url https://<client>.primegov.com`; only the origin counts,
 * so the portal page's own URL works too). The portal's JSON API lists archived meetings a year at
 * a time and upcoming meetings in one list; each meeting's `documentList` holds its compiled
 * documents. Only compiled PDFs whose template names an agenda or minutes are listed: HTML
 * agendas, packets and meeting materials are skipped silently, as are notices. The whole history
 * is every year `GetArchivedMeetingYears` names; `since`/`until` narrow it to their years.
 */
export const primegovFetcher: Fetcher = {
  name: 'primegov',
  description: 'PrimeGov public portal (--url https://<client>.primegov.com): compiled agenda and minutes PDFs',

  // CompiledDocument answers with a redirect to a short-lived signed link on PrimeGov's Azure
  // storage (pgwest.blob.core.windows.net/<client>/Meetings/...); the account differs by region.
  defaultAllowedHosts: () => ['*.blob.core.windows.net'],

  async discover(site, options, { http, discovery }) {
    const { signal } = options;
    const portal = new URL(site.baseUrl).origin;
    const builder = discovery(options);
    const schema = primegovMeeting(site.timeZone);

    const yearsUrl = `${portal}${PUBLIC_PORTAL_API}/GetArchivedMeetingYears`;
    const firstYear = Math.max(MIN_YEAR, options.since ? Number(options.since.slice(0, 4)) : MIN_YEAR);
    const lastYear = Math.min(MAX_YEAR, options.until ? Number(options.until.slice(0, 4)) : MAX_YEAR);
    const listed = parseListing(archivedYears, await http.getJson(yearsUrl, { signal }), yearsUrl);
    const years = [...new Set(listed)].filter((year) => year >= firstYear && year <= lastYear).sort((a, b) => a - b);
    // Upcoming meetings are not archived yet, and the newest archived ones may be listed in both:
    // the builder keeps each URL once.
    const listUrls = [...years.map((year) => `${portal}${PUBLIC_PORTAL_API}/ListArchivedMeetings?year=${year}`), `${portal}${PUBLIC_PORTAL_API}/ListUpcomingMeetings`];

    for (const listUrl of listUrls) {
      const entries = parseListing(meetingList, await http.getJson(listUrl, { signal }), listUrl);
      for (const meeting of parseEntries(schema, entries, (_, reason) => builder.reject(listUrl, reason))) {
        for (const document of meeting.documentList) {
          const kind = documentKind(document.templateName);
          if (document.compileOutputType !== COMPILED_PDF || !kind) continue;
          builder.add({
            kind,
            meeting: meeting.title,
            date: meeting.dateTime,
            // The portal's own PDF link; its HTML agenda shares the templateId with output type 3.
            url: `${portal}/Public/CompiledDocument?meetingTemplateId=${document.templateId}&compileOutputType=${COMPILED_PDF}`,
            version: document.publishDate ?? undefined,
          });
        }
      }
    }
    return builder.finish();
  },
};

/**
 * A document's kind from its template's name: "Agenda", "Special Meeting Agenda", "Agenda_Amended",
 * "Minutes", "Action Minutes". Packets and materials ("Agenda Packet", "Meeting Materials") bundle
 * staff reports with the agenda and are not the agenda itself; "HTML ..." templates are web pages.
 */
export function documentKind(templateName: string): DocumentKind | undefined {
  const name = templateName.toLowerCase();
  if (/packet|materials|html/.test(name)) return undefined;
  if (name.includes('minutes')) return 'minutes';
  if (name.includes('agenda')) return 'agenda';
  return undefined;
}
