import { fixturePdf } from './documents.js';
import { startFixtureServer, type FixtureReply, type FixtureRequest } from './fixture-server.js';
import { platformFixture, type ExpectedDocument, type PlatformFixtureOptions, type StartPlatformFixture } from './types.js';

/**
 * A small CivicClerk client, "millbrook" (a Pacific-time town), as CivicClerk's public OData API
 * serves it: `GET /v1/Events` with `$filter` on startDateTime, `$orderby`, and server-driven pages
 * linked by `@odata.nextLink` (real portals answer 15 events a page; this one 5, so paging shows).
 * Files stream from the same API host at `/v1/Meetings/GetMeetingFileStream(fileId=N,plainText=false)`.
 */
const CLIENT = 'MILLBROOK';
const PAGE_SIZE = 5;
const TIME_ZONE = 'America/Los_Angeles';

type FileType = 'Agenda' | 'Agenda Packet' | 'Minutes' | 'Notice' | 'Other';

/** CivicClerk's numeric file types, as its API reports them beside the names. */
const FILE_TYPE_NUMBER: Record<FileType, number> = { Agenda: 1, 'Agenda Packet': 2, Minutes: 4, Notice: 5, Other: 6 };

interface MillbrookFile {
  fileId: number;
  type: FileType;
  publishOn: string;
}

interface MillbrookEvent {
  id: number;
  category: string;
  eventName: string;
  /** As the API writes it, UTC with a Z; null is the undated entry discovery must reject. */
  start: string | null;
  /** The meeting's date in Pacific time: what discovery must report (printed on rejected ones' PDFs). */
  localDate: string;
  files: MillbrookFile[];
}

const COUNCIL = 'City Council';
const PLANNING = 'Planning Commission';
const LIBRARY = 'Library Board';

const file = (fileId: number, type: FileType, publishOn: string): MillbrookFile => ({ fileId, type, publishOn });

const EVENTS: MillbrookEvent[] = [
  { id: 201, category: COUNCIL, eventName: 'City Council Regular Meeting', start: '2023-01-11T02:00:00Z', localDate: '2023-01-10', files: [file(701, 'Agenda', '2023-01-06T23:00:00Z'), file(702, 'Agenda Packet', '2023-01-06T23:05:00Z'), file(703, 'Minutes', '2023-01-25T18:30:00Z')] },
  { id: 202, category: PLANNING, eventName: 'Planning Commission Meeting', start: '2023-01-20T01:30:00Z', localDate: '2023-01-19', files: [file(704, 'Agenda', '2023-01-13T20:00:00Z'), file(705, 'Minutes', '2023-02-03T17:45:00Z')] },
  { id: 203, category: LIBRARY, eventName: 'Library Board of Trustees', start: '2023-02-30T01:00:00Z', localDate: '2023-02-30', files: [file(706, 'Agenda', '2023-02-24T19:00:00Z')] },
  { id: 204, category: COUNCIL, eventName: 'City Council Special Meeting', start: '2023-06-13T23:00:00Z', localDate: '2023-06-13', files: [file(707, 'Agenda', '2023-06-10T01:00:00Z'), file(708, 'Minutes', '2023-06-27T22:10:00Z')] },
  { id: 205, category: COUNCIL, eventName: 'City Council Regular Meeting', start: '2023-06-14T02:00:00Z', localDate: '2023-06-13', files: [file(709, 'Agenda', '2023-06-09T22:00:00Z'), file(710, 'Agenda Packet', '2023-06-09T22:30:00Z'), file(711, 'Minutes', '2023-06-27T22:15:00Z')] },
  { id: 206, category: PLANNING, eventName: 'Planning Commission Meeting', start: '2023-09-22T00:30:00Z', localDate: '2023-09-21', files: [file(712, 'Agenda', '2023-09-15T20:00:00Z')] },
  { id: 207, category: LIBRARY, eventName: 'Library Board of Trustees', start: null, localDate: 'undated', files: [file(713, 'Agenda', '2023-10-20T17:00:00Z')] },
  { id: 208, category: LIBRARY, eventName: 'Library Board of Trustees', start: '2024-01-09T18:00:00Z', localDate: '2024-01-09', files: [file(714, 'Agenda', '2024-01-04T18:00:00Z'), file(715, 'Minutes', '2024-01-24T19:00:00Z'), file(716, 'Other', '2024-01-04T18:02:00Z')] },
  { id: 209, category: COUNCIL, eventName: 'City Council Regular Meeting', start: '2024-02-14T02:00:00Z', localDate: '2024-02-13', files: [file(717, 'Agenda', '2024-02-09T23:00:00Z'), file(718, 'Minutes', '2024-02-28T18:20:00Z')] },
  { id: 210, category: PLANNING, eventName: 'Planning Commission Meeting', start: '2024-07-19T00:30:00Z', localDate: '2024-07-18', files: [file(719, 'Agenda', '2024-07-12T20:00:00Z'), file(720, 'Minutes', '2024-08-02T16:40:00Z'), file(721, 'Notice', '2024-07-08T16:00:00Z')] },
  { id: 211, category: COUNCIL, eventName: 'City Council Regular Meeting', start: '2024-11-13T02:00:00Z', localDate: '2024-11-12', files: [file(722, 'Agenda', '2024-11-08T23:00:00Z'), file(723, 'Agenda Packet', '2024-11-08T23:20:00Z')] },
  { id: 212, category: LIBRARY, eventName: 'Library Board of Trustees', start: '2024-12-03T18:00:00Z', localDate: '2024-12-03', files: [] },
];

/** The events discovery must reject: an impossible date and no date at all. */
const REJECTED_EVENT_IDS = [203, 207];

export const startCivicclerkFixture: StartPlatformFixture = async (options: PlatformFixtureOptions = {}) => {
  const api = await startFixtureServer(answerApi, { port: options.port ?? 0 });
  const base = `${api.url}/v1`;

  const expected: ExpectedDocument[] = EVENTS.filter((event) => !REJECTED_EVENT_IDS.includes(event.id)).flatMap((event) =>
    event.files
      .filter((f) => f.type === 'Agenda' || f.type === 'Minutes')
      .map((f) => ({
        kind: f.type === 'Agenda' ? ('agenda' as const) : ('minutes' as const),
        meeting: event.category,
        date: event.localDate,
        url: `${base}/Meetings/GetMeetingFileStream(fileId=${f.fileId},plainText=false)`,
      })),
  );

  return platformFixture({
    fetcher: 'civicclerk',
    baseUrl: base,
    settings: { time_zone: TIME_ZONE },
    allowHosts: [],
    expected,
    expectedRejected: REJECTED_EVENT_IDS.length,
    servers: [api],
  });
};

async function answerApi(request: FixtureRequest): Promise<FixtureReply | undefined> {
  if (request.method !== 'GET') return undefined;
  // Like the real API, links name the host the request came to.
  if (request.path === '/v1/Events') return eventsPage(request.query, `http://${request.headers.host}/v1`);
  const stream = /^\/v1\/Meetings\/GetMeetingFileStream\(fileId=(\d+),\s*plainText=(true|false)\)$/.exec(request.path);
  if (stream) return fileStream(Number(stream[1]), stream[2] === 'true');
  return undefined;
}

function eventsPage(query: URLSearchParams, base: string): FixtureReply {
  let matching: MillbrookEvent[];
  try {
    matching = orderEvents(EVENTS.filter(eventFilter(query.get('$filter'))), query.get('$orderby'));
  } catch (error) {
    return { status: 400, json: { error: { code: '', message: (error as Error).message } } };
  }
  // A $top caps the whole answer, not the page: the server still pages by its own size.
  const top = query.has('$top') ? Number(query.get('$top')) : Infinity;
  const skip = Number(query.get('$skip') ?? 0);
  const total = Math.min(matching.length, top);
  const page = matching.slice(skip, Math.min(skip + PAGE_SIZE, total));
  const nextSkip = skip + PAGE_SIZE;
  const next = new URLSearchParams(query);
  next.set('$skip', String(nextSkip));
  const nextLink = `${base}/Events?${[...next].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&')}`;
  return {
    json: {
      '@odata.context': `${base}/$metadata#Events`,
      value: page.map(eventJson),
      ...(nextSkip < total ? { '@odata.nextLink': nextLink } : {}),
    },
  };
}

/** `startDateTime ge 2023-01-09T00:00:00Z and startDateTime lt 2023-01-12T00:00:00Z`: the OData the fetcher sends. */
function eventFilter(filter: string | null): (event: MillbrookEvent) => boolean {
  if (!filter) return () => true;
  const tests = filter.split(/\s+and\s+/i).map((clause) => {
    const match = /^\s*(startDateTime|eventDate)\s+(eq|ge|gt|le|lt)\s+(\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2}))?)\s*$/.exec(clause);
    if (!match) throw new Error(`The query specified in the URI is not valid. Syntax error at '${clause}'.`);
    const bound = Date.parse(match[3]!);
    const operator = match[2]!;
    return (instant: number) =>
      operator === 'eq' ? instant === bound : operator === 'ge' ? instant >= bound : operator === 'gt' ? instant > bound : operator === 'le' ? instant <= bound : instant < bound;
  });
  // An event without a real start matches no date filter, as a null matches no comparison.
  return (event) => tests.every((test) => event.start !== null && test(Date.parse(event.start)));
}

function orderEvents(events: MillbrookEvent[], orderBy: string | null): MillbrookEvent[] {
  if (!orderBy) return events;
  const keys = orderBy.split(',').map((part) => {
    const [field, direction = 'asc'] = part.trim().split(/\s+/);
    const read = field === 'startDateTime' ? (e: MillbrookEvent) => e.start ?? '' : field === 'eventName' ? (e: MillbrookEvent) => e.eventName : field === 'id' ? (e: MillbrookEvent) => e.id : undefined;
    if (!read) throw new Error(`Could not find a property named '${field}' on type 'CivicClerk.Event'.`);
    return { read, sign: direction.toLowerCase() === 'desc' ? -1 : 1 };
  });
  return [...events].sort((a, b) => {
    for (const { read, sign } of keys) {
      const [x, y] = [read(a), read(b)];
      if (x !== y) return (x < y ? -1 : 1) * sign;
    }
    return 0;
  });
}

async function fileStream(fileId: number, plainText: boolean): Promise<FixtureReply | undefined> {
  const event = EVENTS.find((e) => e.files.some((f) => f.fileId === fileId));
  const found = event?.files.find((f) => f.fileId === fileId);
  if (!event || !found) return undefined;
  if (plainText) return { status: 200, body: `${event.category} ${found.type} ${event.localDate}\n`, headers: { 'Content-Type': 'text/plain; charset=utf-8' } };
  return { pdf: await fixturePdf(found.type === 'Minutes' ? 'minutes' : 'agenda', event.category, event.localDate) };
}

/** An event with the fields CivicClerk's API returns for it. */
function eventJson(event: MillbrookEvent): Record<string, unknown> {
  const agenda = event.files.find((f) => f.type === 'Agenda');
  return {
    id: event.id,
    eventName: event.eventName,
    eventDescription: '',
    eventDate: event.start,
    startDateTime: event.start,
    agendaId: agenda ? event.id + 500 : null,
    agendaName: agenda ? `${event.eventName} Agenda` : '',
    categoryName: event.category,
    eventCategoryName: event.category,
    isPublished: 'Published',
    hasAgenda: agenda !== undefined,
    hasMedia: event.category === COUNCIL,
    // These slots stay empty on real portals: the files are in publishedFiles.
    agendaFile: { agendaId: 0, fileName: null },
    minutesFile: { minutesId: 0, fileName: null },
    publishedFiles: event.files.map((f) => ({
      fileId: f.fileId,
      type: f.type,
      fileType: FILE_TYPE_NUMBER[f.type],
      name: `${event.localDate} ${event.eventName} ${f.type}`,
      url: `stream/${CLIENT}/${f.fileId.toString(16).padStart(8, '0')}-6c1d-4e2a-9b7f-${String(f.fileId).padStart(12, '0')}.pdf`,
      publishOn: f.publishOn,
    })),
    eventLocation: { address1: '1 Civic Center Plaza', address2: 'Council Chambers', city: 'Millbrook', state: 'CA', zipCode: '95000' },
    // Video is not an agenda or minutes PDF: discovery leaves it alone.
    externalMediaUrl: event.category === COUNCIL ? `https://www.youtube.com/watch?v=mb${event.id}` : null,
    // CivicClerk's placeholder for "no end time".
    meetingEndTime: '1900-01-01T00:00:00Z',
  };
}
