import type { DocumentKind } from '../../db/schema.js';
import { fixturePdf } from './documents.js';
import { startFixtureServer, type FixtureReply, type FixtureRequest } from './fixture-server.js';
import { platformFixture, type ExpectedDocument, type PlatformFixtureOptions, type StartPlatformFixture } from './types.js';

/**
 * A small PrimeGov portal, "bayside", as PrimeGov's public portal API serves it:
 * `GetArchivedMeetingYears`, `ListArchivedMeetings?year=YYYY` and `ListUpcomingMeetings` under
 * /api/v2/PublicPortal, each meeting with the fields and `documentList` real portals return.
 * `/Public/CompiledDocument?meetingTemplateId=N&compileOutputType=1` redirects, as the real one
 * does, to a signed link on a second server standing in for PrimeGov's Azure blob storage.
 */
const CLIENT = 'bayside';

/** A document template of a meeting: the compiled PDF, and the HTML page where the portal has one. */
interface Template {
  id: number;
  name: string;
  /** Also compiled as an HTML page (compileOutputType 3) under the same template id. */
  html?: boolean;
  /** What the PDF is, for the fixture's own PDF bytes; a packet is served as its agenda. */
  pdfKind: DocumentKind;
  /** A packet or meeting materials: compiled, but not the agenda or minutes themselves. */
  packet?: boolean;
  published: string;
}

interface BaysideMeeting {
  id: number;
  /** Null for the entry discovery must reject for its missing title. */
  title: string | null;
  committeeId: number;
  /** Local wall-clock time, no zone, as PrimeGov writes it; 2023-02-30 is the impossible date. */
  dateTime: string;
  templates: Template[];
  /** Not archived yet: listed by ListUpcomingMeetings (and, for the newest, by both lists). */
  upcoming?: boolean;
  archived?: boolean;
}

const COUNCIL = { title: 'City Council Meeting', committeeId: 1 };
const PLANNING = { title: 'Planning Commission', committeeId: 2 };
const PARKS = { title: 'Parks and Recreation Commission', committeeId: 3 };

const agenda = (id: number, published: string, html = true): Template => ({ id, name: 'Agenda', html, pdfKind: 'agenda', published });
const minutes = (id: number, published: string, name = 'Minutes'): Template => ({ id, name, pdfKind: 'minutes', published });
const packet = (id: number, published: string, name = 'Agenda Packet'): Template => ({ id, name, pdfKind: 'agenda', packet: true, published });

const MEETINGS: BaysideMeeting[] = [
  { id: 3101, ...COUNCIL, dateTime: '2023-01-10T18:00:00', templates: [agenda(5101, '2023-01-05T16:02:11.48'), minutes(5102, '2023-01-25T21:40:03.3')] },
  { id: 3102, ...PLANNING, dateTime: '2023-02-01T17:30:00', templates: [agenda(5103, '2023-01-27T18:30:00.117'), packet(5104, '2023-01-27T18:31:45.5'), minutes(5105, '2023-02-16T15:12:09.9')] },
  { id: 3103, ...PARKS, dateTime: '2023-02-30T17:00:00', templates: [agenda(5106, '2023-02-24T17:00:00')] },
  { id: 3104, ...COUNCIL, dateTime: '2023-06-13T16:00:00', templates: [agenda(5107, '2023-06-09T19:45:12.06', false), minutes(5108, '2023-06-28T16:00:00.25')] },
  { id: 3105, ...COUNCIL, dateTime: '2023-06-13T18:00:00', templates: [agenda(5109, '2023-06-08T22:10:07.773'), packet(5110, '2023-06-08T22:15:51.2'), minutes(5111, '2023-06-28T16:05:31.4')] },
  { id: 3106, ...PLANNING, dateTime: '2023-10-04T17:30:00', templates: [agenda(5112, '2023-09-29T17:20:44.61')] },
  { id: 3107, title: null, committeeId: 4, dateTime: '2023-11-15T17:00:00', templates: [agenda(5113, '2023-11-10T17:00:00')] },
  { id: 3108, ...PARKS, dateTime: '2024-02-07T17:00:00', templates: [agenda(5114, '2024-02-02T18:44:10.5'), minutes(5115, '2024-02-22T15:30:02.8', 'Action Minutes')] },
  { id: 3109, ...COUNCIL, dateTime: '2024-04-09T18:00:00', templates: [agenda(5116, '2024-04-04T20:03:33.37'), packet(5117, '2024-04-04T20:09:12.9', 'Meeting Materials'), minutes(5118, '2024-04-24T17:11:40.15')] },
  { id: 3110, ...PLANNING, dateTime: '2024-09-18T17:30:00', templates: [agenda(5119, '2024-09-13T16:55:28.2'), minutes(5120, '2024-10-03T15:48:19.07')] },
  { id: 3111, ...COUNCIL, dateTime: '2024-12-10T18:00:00', templates: [agenda(5121, '2024-12-05T21:30:00.5')], upcoming: true, archived: true },
  { id: 3112, ...COUNCIL, dateTime: '2025-01-14T18:00:00', templates: [agenda(5122, '2025-01-09T21:12:45.333')], upcoming: true, archived: false },
];

/** The meetings discovery must reject: an impossible date and a missing title. */
const REJECTED_MEETING_IDS = [3103, 3107];

const API = '/api/v2/PublicPortal';

export const startPrimegovFixture: StartPlatformFixture = async (options: PlatformFixtureOptions = {}) => {
  const blobs = await startFixtureServer((request) => answerBlobStorage(request), { port: options.filesPort ?? 0 });
  const portal = await startFixtureServer((request) => answerPortal(request, blobs.url), { port: options.port ?? 0 }).catch(async (error: unknown) => {
    await blobs.close();
    throw error;
  });

  const expected: ExpectedDocument[] = MEETINGS.filter((meeting) => !REJECTED_MEETING_IDS.includes(meeting.id)).flatMap((meeting) =>
    meeting.templates
      .filter((template) => !template.packet)
      .map((template) => ({
        kind: template.pdfKind,
        meeting: meeting.title!,
        date: meeting.dateTime.slice(0, 10),
        url: `${portal.url}/Public/CompiledDocument?meetingTemplateId=${template.id}&compileOutputType=1`,
      })),
  );

  return platformFixture({
    fetcher: 'primegov',
    baseUrl: portal.url,
    settings: {},
    allowHosts: [blobs.host],
    expected,
    expectedRejected: REJECTED_MEETING_IDS.length,
    servers: [portal, blobs],
  });
};

function answerPortal(request: FixtureRequest, blobsUrl: string): FixtureReply | undefined {
  if (request.method !== 'GET') return undefined;
  switch (request.path) {
    case `${API}/GetArchivedMeetingYears`:
      return { json: [...new Set(archived().map((meeting) => Number(meeting.dateTime.slice(0, 4))))].sort((a, b) => b - a) };
    case `${API}/ListArchivedMeetings`: {
      const year = request.query.get('year');
      if (!year || !/^\d{4}$/.test(year)) return { status: 400, json: { message: 'The year field is required.' } };
      return { json: archived().filter((meeting) => meeting.dateTime.startsWith(year)).map(meetingJson) };
    }
    case `${API}/ListUpcomingMeetings`:
      return { json: MEETINGS.filter((meeting) => meeting.upcoming).map(meetingJson) };
    case '/Public/CompiledDocument':
      return compiledDocument(request.query, blobsUrl);
    default:
      return undefined;
  }
}

function archived(): BaysideMeeting[] {
  return MEETINGS.filter((meeting) => meeting.archived ?? !meeting.upcoming);
}

/** The PDF moves to a signed blob link; the HTML output is the portal's web page of the agenda. */
function compiledDocument(query: URLSearchParams, blobsUrl: string): FixtureReply {
  const templateId = Number(query.get('meetingTemplateId'));
  const meeting = MEETINGS.find((m) => m.templates.some((t) => t.id === templateId));
  const template = meeting?.templates.find((t) => t.id === templateId);
  if (!meeting || !template) return { status: 404, html: '<h1>PublishedDocumentError</h1><p>The document could not be found.</p>' };
  if (query.get('compileOutputType') === '3' && template.html) {
    return { html: `<!doctype html><html><body><h1>${meeting.title} - ${template.name}</h1><p>${meeting.dateTime}</p></body></html>` };
  }
  if (query.get('compileOutputType') !== '1') return { status: 404, html: '<h1>PublishedDocumentError</h1>' };
  const signature = `sv=2022-11-02&st=2024-12-01T00%3A00%3A00Z&se=2024-12-03T00%3A00%3A00Z&sr=b&sp=r&sig=fixture${templateId}`;
  return { redirect: `${blobsUrl}/${CLIENT}/Meetings/${meeting.id}/${template.id}_${template.name.replace(/\s+/g, '_')}.pdf?${signature}` };
}

/** The blob store serves a file only with a signature, as an Azure SAS link does. */
async function answerBlobStorage(request: FixtureRequest): Promise<FixtureReply | undefined> {
  const match = new RegExp(`^/${CLIENT}/Meetings/(\\d+)/(\\d+)_[\\w-]+\\.pdf$`).exec(request.path);
  if (!match) return undefined;
  if (!request.query.get('sig')) return { status: 403, body: 'AuthenticationFailed: Server failed to authenticate the request.' };
  const meeting = MEETINGS.find((m) => m.id === Number(match[1]));
  const template = meeting?.templates.find((t) => t.id === Number(match[2]));
  if (!meeting || !template) return undefined;
  return { pdf: await fixturePdf(template.pdfKind, meeting.title ?? 'Unnamed Committee', meeting.dateTime.slice(0, 10)) };
}

/** A meeting with every field PrimeGov's portal API returns for it. */
function meetingJson(meeting: BaysideMeeting): Record<string, unknown> {
  const [date, time] = meeting.dateTime.split('T') as [string, string];
  const [hours, minutes] = time.split(':').map(Number) as [number, number];
  const started = new Date(`${date}T00:00:00Z`);
  let sortOrder = 0;
  return {
    id: meeting.id,
    meetingTypeId: 1,
    committeeId: meeting.committeeId,
    dateTime: meeting.dateTime,
    endDateTime: null,
    date: started.toLocaleDateString('en-US', { month: 'short', day: '2-digit', year: 'numeric', timeZone: 'UTC' }),
    time: `${((hours + 11) % 12) + 1}:${String(minutes).padStart(2, '0')} ${hours < 12 ? 'AM' : 'PM'}`,
    endTime: null,
    documentList: meeting.templates.flatMap((template) =>
      [...(template.html ? [3] : []), 1].map((compileOutputType) => ({
        id: template.id * 10 + compileOutputType,
        language: 'en-US',
        compileOutputType,
        publishStatus: 1,
        publishDate: template.published,
        templateId: template.id,
        meetingId: meeting.id,
        sortOrder: ++sortOrder,
        templateSortOrder: sortOrder,
        link: null,
        templateName: compileOutputType === 3 ? `HTML ${template.name}` : template.name,
      })),
    ),
    allowPublicSpeaker: false,
    allowPublicComment: meeting.committeeId === 1,
    isZoomMeeting: false,
    // Video is not an agenda or minutes PDF: discovery leaves it alone.
    videoUrl: meeting.committeeId === 1 ? `https://${CLIENT}.granicus.com/MediaPlayer.php?event_id=${meeting.id - 2000}` : null,
    swagitId: null,
    isMediaManagerVideo: false,
    externalProviderMeetingId: null,
    zoomMeetingLink: null,
    meetingOnline: false,
    streamCompleted: !meeting.upcoming,
    mediaManagerClipPubliclyAvailable: false,
    meetingState: meeting.upcoming ? 1 : 3,
    isShowVideoIcon: meeting.committeeId === 1,
    publishDate: null,
    title: meeting.title,
    location: 'Bayside City Hall, Council Chambers, 100 Main Street',
  };
}
