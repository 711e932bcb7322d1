import { fixturePdf } from './documents.js';
import { startFixtureServer, type FixtureReply, type FixtureRequest } from './fixture-server.js';
import { platformFixture, type ExpectedDocument, type PlatformFixtureOptions, type StartPlatformFixture } from './types.js';

/**
 * A small Legistar client, "lakeport", as the Legistar Web API serves it: `GET /v1/lakeport/events`
 * with OData `$filter` on EventDate, `$orderby`, `$top` (at most 1000) and `$skip`, answering bare
 * JSON arrays of events with the fields real clients carry. Its agenda and minutes PDFs live on a
 * second server, as real ones live on legistar2.granicus.com, under the same path shape.
 */
const CLIENT = 'lakeport';

interface LakeportEvent {
  id: number;
  /** Null for the entry discovery must reject for its missing body name. */
  body: string | null;
  bodyId: number;
  /** As Legistar writes it, local midnight; 2023-02-30 is the impossible date to reject. */
  date: string;
  time: string;
  /** The title part of the file names ("Meeting_Agenda" and "Meeting_Minutes" by default). */
  fileTitle?: string;
  agendaPublished?: string;
  minutesPublished?: string;
  comment?: string;
  status?: 'Final' | 'Draft' | 'Cancelled';
  video?: boolean;
}

const COUNCIL = { body: 'City Council', bodyId: 138 };
const PLANNING = { body: 'Planning Commission', bodyId: 141 };
const PARKS = { body: 'Parks and Recreation Board', bodyId: 152 };

const EVENTS: LakeportEvent[] = [
  { id: 1101, ...COUNCIL, date: '2023-01-10', time: '7:00 PM', agendaPublished: '2023-01-06T22:14:05.37', minutesPublished: '2023-01-26T17:02:11.883', video: true },
  { id: 1102, ...PLANNING, date: '2023-01-18', time: '6:30 PM', agendaPublished: '2023-01-13T18:40:22.1', minutesPublished: '2023-02-03T16:11:48.25' },
  { id: 1103, ...PARKS, date: '2023-02-30', time: '5:30 PM', agendaPublished: '2023-02-24T19:05:00.5' },
  { id: 1104, ...COUNCIL, date: '2023-03-14', time: '7:00 PM', agendaPublished: '2023-03-10T21:30:10.2', minutesPublished: '2023-03-29T15:45:33.607', video: true },
  { id: 1105, ...COUNCIL, date: '2023-06-13', time: '10:00 AM', fileTitle: 'Budget_Workshop', comment: 'Budget workshop', agendaPublished: '2023-06-08T23:01:44.09', minutesPublished: '2023-06-28T16:20:02.4' },
  { id: 1106, ...COUNCIL, date: '2023-06-13', time: '7:00 PM', agendaPublished: '2023-06-09T20:12:55.713', minutesPublished: '2023-06-28T16:25:40.12', video: true },
  { id: 1107, ...PLANNING, date: '2023-09-20', time: '6:30 PM', agendaPublished: '2023-09-15T17:55:00.0', comment: 'Minutes in preparation' },
  { id: 1108, body: null, bodyId: 0, date: '2023-10-03', time: '4:00 PM', agendaPublished: '2023-09-29T18:00:00.0' },
  { id: 1109, ...PARKS, date: '2024-03-05', time: '5:30 PM', agendaPublished: '2024-03-01T19:22:31.6', minutesPublished: '2024-03-21T15:02:07.0' },
  { id: 1110, ...COUNCIL, date: '2024-05-14', time: '7:00 PM', status: 'Cancelled', comment: 'Meeting cancelled' },
  { id: 1111, ...PLANNING, date: '2024-08-21', time: '6:30 PM', agendaPublished: '2024-08-16T16:48:12.93', minutesPublished: '2024-09-06T14:30:59.5' },
  { id: 1112, ...COUNCIL, date: '2024-12-10', time: '7:00 PM', agendaPublished: '2024-12-06T22:05:41.377', video: true },
];

/** The events discovery must reject: an impossible date and a missing body name. */
const REJECTED_EVENT_IDS = [1103, 1108];

interface FileOnHost {
  kind: 'agenda' | 'minutes';
  meeting: string;
  date: string;
}

export const startLegistarFixture: StartPlatformFixture = async (options: PlatformFixtureOptions = {}) => {
  const filesOnHost = new Map<string, FileOnHost>();
  const files = await startFixtureServer(
    async (request) => {
      const file = filesOnHost.get(request.path);
      return file ? { pdf: await fixturePdf(file.kind, file.meeting, file.date) } : undefined;
    },
    { port: options.filesPort ?? 0 },
  );
  const expected: ExpectedDocument[] = [];
  const events = EVENTS.map((event) => {
    const agendaPath = event.agendaPublished ? filePath(event, 'A') : null;
    const minutesPath = event.minutesPublished ? filePath(event, 'M') : null;
    for (const [kind, path] of [['agenda', agendaPath], ['minutes', minutesPath]] as const) {
      if (!path) continue;
      filesOnHost.set(path, { kind, meeting: event.body ?? 'Unnamed Body', date: event.date });
      if (!REJECTED_EVENT_IDS.includes(event.id)) expected.push({ kind, meeting: event.body!, date: event.date, url: `${files.url}${path}` });
    }
    return eventJson(event, agendaPath && `${files.url}${agendaPath}`, minutesPath && `${files.url}${minutesPath}`);
  });

  const api = await startFixtureServer((request) => answerApi(request, events), { port: options.port ?? 0 }).catch(async (error: unknown) => {
    await files.close();
    throw error;
  });

  return platformFixture({
    fetcher: 'legistar',
    baseUrl: `${api.url}/v1/${CLIENT}`,
    settings: {},
    allowHosts: [files.host],
    expected,
    expectedRejected: REJECTED_EVENT_IDS.length,
    servers: [api, files],
  });
};

/** "/lakeport/meetings/2023/1/1101_A_City_Council_23-01-10_Meeting_Agenda.pdf", as Granicus names them. */
function filePath(event: LakeportEvent, letter: 'A' | 'M'): string {
  const [year, month, day] = event.date.split('-');
  const body = (event.body ?? 'Unnamed Body').replace(/\s+/g, '_');
  const title = event.fileTitle ? `${event.fileTitle}_${letter === 'A' ? 'Agenda' : 'Minutes'}` : letter === 'A' ? 'Meeting_Agenda' : 'Meeting_Minutes';
  return `/${CLIENT}/meetings/${year}/${Number(month)}/${event.id}_${letter}_${body}_${year!.slice(2)}-${month}-${day}_${title}.pdf`;
}

/** The event with every field the Legistar Web API returns for it. */
function eventJson(event: LakeportEvent, agendaFile: string | null, minutesFile: string | null): Record<string, unknown> {
  const status = event.status ?? 'Final';
  const lastModified = event.minutesPublished ?? event.agendaPublished ?? `${event.date}T12:00:00`;
  return {
    EventId: event.id,
    EventGuid: `7C1E${String(event.id).padStart(4, '0')}-5A2B-4C3D-9E8F-${String(event.id * 7919).padStart(12, '0')}`,
    EventLastModifiedUtc: lastModified,
    EventRowVersion: Buffer.from(`row${event.id}`).toString('base64'),
    EventBodyId: event.bodyId,
    EventBodyName: event.body,
    EventDate: `${event.date}T00:00:00`,
    EventTime: event.time,
    EventVideoStatus: event.video ? 'Public' : 'Hidden',
    EventAgendaStatusId: status === 'Cancelled' ? 12 : 10,
    EventAgendaStatusName: status,
    EventMinutesStatusId: minutesFile ? 10 : 9,
    EventMinutesStatusName: minutesFile ? 'Final' : 'Draft',
    EventLocation: event.body === PLANNING.body ? 'Council Chambers, Lakeport City Hall, 225 Park Street' : 'Council Chambers, Lakeport City Hall',
    EventAgendaFile: agendaFile,
    EventMinutesFile: minutesFile,
    EventAgendaLastPublishedUTC: agendaFile ? event.agendaPublished : null,
    EventMinutesLastPublishedUTC: minutesFile ? event.minutesPublished : null,
    EventComment: event.comment ?? null,
    // Video and the InSite page are not agenda or minutes PDFs: discovery leaves them alone.
    EventVideoPath: event.video ? `https://${CLIENT}.granicus.com/MediaPlayer.php?view_id=2&clip_id=${event.id + 3000}` : null,
    EventMedia: event.video ? String(event.id + 3000) : null,
    EventInSiteURL: `https://${CLIENT}.legistar.com/MeetingDetail.aspx?LEGID=${event.id}&GID=317&G=9B5A31F2-1C7E-4F0A-8D1B-3E7C2A6F4D10`,
    EventItems: [],
  };
}

function answerApi(request: FixtureRequest, events: Record<string, unknown>[]): FixtureReply | undefined {
  // Legistar's routes are case-insensitive: /events and /Events are the same.
  if (request.method !== 'GET' || request.path.toLowerCase() !== `/v1/${CLIENT}/events`) return undefined;
  try {
    const matching = events.filter(eventFilter(request.query.get('$filter')));
    const ordered = orderEvents(matching, request.query.get('$orderby'));
    const top = Math.min(wholeNumber(request.query.get('$top'), 1000, '$top'), 1000);
    const skip = wholeNumber(request.query.get('$skip'), 0, '$skip');
    return { json: ordered.slice(skip, skip + top) };
  } catch (error) {
    return { status: 400, json: { Message: (error as Error).message } };
  }
}

/** `EventDate ge datetime'2023-01-01' and EventDate le datetime'2023-12-31'`: the subset of OData the fetcher sends. */
function eventFilter(filter: string | null): (event: Record<string, unknown>) => boolean {
  if (!filter) return () => true;
  const tests = filter.split(/\s+and\s+/i).map((clause) => {
    const match = /^\s*EventDate\s+(eq|ge|gt|le|lt)\s+datetime'(\d{4}-\d{2}-\d{2})(T[\d:.]+)?'\s*$/i.exec(clause);
    if (!match) throw new Error(`The query specified in the URI is not valid. Could not parse "${clause}".`);
    const bound = `${match[2]}${match[3] ?? 'T00:00:00'}`;
    const operator = match[1]!.toLowerCase();
    return (value: string) =>
      operator === 'eq' ? value === bound : operator === 'ge' ? value >= bound : operator === 'gt' ? value > bound : operator === 'le' ? value <= bound : value < bound;
  });
  return (event) => tests.every((test) => test(String(event.EventDate)));
}

function orderEvents(events: Record<string, unknown>[], orderBy: string | null): Record<string, unknown>[] {
  if (!orderBy) return events;
  const keys = orderBy.split(',').map((part) => {
    const [field, direction = 'asc'] = part.trim().split(/\s+/);
    if (field !== 'EventId' && field !== 'EventDate') throw new Error(`Could not find a property named '${field}' on type 'Event'.`);
    return { field, sign: direction.toLowerCase() === 'desc' ? -1 : 1 };
  });
  return [...events].sort((a, b) => {
    for (const { field, sign } of keys) {
      const [x, y] = [a[field] as string | number, b[field] as string | number];
      if (x !== y) return (x < y ? -1 : 1) * sign;
    }
    return 0;
  });
}

function wholeNumber(value: string | null, fallback: number, name: string): number {
  if (value === null) return fallback;
  if (!/^\d+$/.test(value)) throw new Error(`The query parameter '${name}' is not valid: '${value}'.`);
  return Number(value);
}
