import { createHash } from 'node:crypto';
import { fixturePdf } from './documents.js';
import { startFixtureServer, type FixtureReply, type FixtureRequest } from './fixture-server.js';
import { platformFixture, type ExpectedDocument, type PlatformFixtureOptions, type StartPlatformFixture } from './types.js';

/**
 * "Rivertown", a city whose meetings are on Granicus, as its ViewPublisher page
 * (`/ViewPublisher.php?view_id=1`) shows them: an Upcoming Events table, then one collapsible
 * panel per body with a tab per year, each a `table.listingTable` of recorded meetings in the
 * markup real archives have (`headers="Name"`, `headers="Date ..."` with a hidden sort key, a
 * "play" link, AgendaViewer and MinutesViewer links, a document menu, video and MP4 links). As on
 * Granicus, `AgendaViewer.php` and `MinutesViewer.php` answer 302 to the PDF on a second server,
 * the stand-in for Granicus's file store (granicus_production_attachments.s3.amazonaws.com).
 */
const CLIENT = 'rivertown';
const VIEW_ID = 1;

interface Clip {
  clipId: number;
  body: 'City Council' | 'Planning Commission';
  /** 2021-02-30 is the impossible date to reject. */
  date: string;
  time: string;
  duration: string;
  agenda: boolean;
  /** The minutes document id; the minutes are linked from a document menu when `menu` is set. */
  minutesDocId?: string;
  menu?: boolean;
  video: boolean;
}

const CLIPS: Clip[] = [
  { clipId: 301, body: 'City Council', date: '2020-01-07', time: '07:00 PM', duration: '02h 14m', agenda: true, minutesDocId: '3b1f0c2e-5d41-4a8e-9f00-1a2b3c4d0301', video: true },
  { clipId: 305, body: 'Planning Commission', date: '2020-02-19', time: '06:30 PM', duration: '01h 41m', agenda: true, minutesDocId: '3b1f0c2e-5d41-4a8e-9f00-1a2b3c4d0305', menu: true, video: true },
  { clipId: 315, body: 'City Council', date: '2020-06-02', time: '05:30 PM', duration: '00h 52m', agenda: true, video: true },
  { clipId: 316, body: 'City Council', date: '2020-06-02', time: '07:00 PM', duration: '03h 05m', agenda: true, minutesDocId: '3b1f0c2e-5d41-4a8e-9f00-1a2b3c4d0316', video: true },
  { clipId: 322, body: 'Planning Commission', date: '2020-10-21', time: '06:30 PM', duration: '01h 12m', agenda: true, video: true },
  { clipId: 331, body: 'City Council', date: '2021-02-30', time: '07:00 PM', duration: '01h 58m', agenda: true, video: true },
  { clipId: 334, body: 'City Council', date: '2021-03-16', time: '07:00 PM', duration: '02h 31m', agenda: true, minutesDocId: '3b1f0c2e-5d41-4a8e-9f00-1a2b3c4d0334', video: true },
  { clipId: 338, body: 'Planning Commission', date: '2021-05-19', time: '06:30 PM', duration: '02h 02m', agenda: true, minutesDocId: '3b1f0c2e-5d41-4a8e-9f00-1a2b3c4d0338', menu: true, video: true },
  { clipId: 342, body: 'Planning Commission', date: '2021-08-18', time: '06:30 PM', duration: '00h 47m', agenda: false, video: true },
  { clipId: 345, body: 'City Council', date: '2021-09-07', time: '07:00 PM', duration: '02h 49m', agenda: true, minutesDocId: '3b1f0c2e-5d41-4a8e-9f00-1a2b3c4d0345', video: true },
];

/** The clip discovery must reject: its date does not exist. */
const REJECTED_CLIP_IDS = [331];

/** An upcoming meeting: its agenda is linked by event id, and is not listed until recorded. */
const UPCOMING = { eventId: 88, body: 'City Council', date: 'January&nbsp;11,&nbsp;2022 - 07:00&nbsp;PM' };

interface StoredFile {
  kind: 'agenda' | 'minutes';
  clip: Clip;
}

export const startGranicusFixture: StartPlatformFixture = async (options: PlatformFixtureOptions = {}) => {
  const stored = new Map<string, StoredFile>();
  const files = await startFixtureServer(
    async (request) => {
      const file = stored.get(request.path);
      if (!file) return undefined;
      // The 5:30 and 7:00 sessions of 2 June 2020 have different agendas.
      const meeting = file.clip.clipId === 315 ? `${file.clip.body} (special session)` : file.clip.body;
      return { pdf: await fixturePdf(file.kind, meeting, file.clip.date) };
    },
    { port: options.filesPort ?? 0 },
  );
  for (const clip of CLIPS) {
    if (clip.agenda) stored.set(storedPath(clip, 'agenda'), { kind: 'agenda', clip });
    if (clip.minutesDocId) stored.set(storedPath(clip, 'minutes'), { kind: 'minutes', clip });
  }

  const site = await startFixtureServer((request) => answerGranicus(request, files.url), { port: options.port ?? 0 }).catch(async (error: unknown) => {
    await files.close();
    throw error;
  });
  const host = site.host;

  const expected: ExpectedDocument[] = [];
  for (const clip of CLIPS) {
    if (REJECTED_CLIP_IDS.includes(clip.clipId)) continue;
    if (clip.agenda) expected.push({ kind: 'agenda', meeting: clip.body, date: clip.date, url: `http:${agendaLink(host, clip)}` });
    if (clip.minutesDocId) expected.push({ kind: 'minutes', meeting: clip.body, date: clip.date, url: `http:${minutesLink(host, clip)}` });
  }

  return platformFixture({
    fetcher: 'granicus',
    baseUrl: `${site.url}/ViewPublisher.php?view_id=${VIEW_ID}`,
    settings: {},
    allowHosts: [files.host],
    expected,
    expectedRejected: REJECTED_CLIP_IDS.length,
    servers: [site, files],
  });
};

/** "//host/AgendaViewer.php?view_id=1&clip_id=301", protocol-relative as Granicus writes it. */
function agendaLink(host: string, clip: Clip): string {
  return `//${host}/AgendaViewer.php?view_id=${VIEW_ID}&clip_id=${clip.clipId}`;
}

function minutesLink(host: string, clip: Clip): string {
  return `//${host}/MinutesViewer.php?view_id=${VIEW_ID}&clip_id=${clip.clipId}&doc_id=${clip.minutesDocId}`;
}

/** "/rivertown/1f3a...e0.pdf": a content-addressed name, as on Granicus's file store. */
function storedPath(clip: Clip, kind: 'agenda' | 'minutes'): string {
  return `/${CLIENT}/${createHash('md5').update(`${kind}:${clip.clipId}`).digest('hex')}0.pdf`;
}

function answerGranicus(request: FixtureRequest, filesUrl: string): FixtureReply | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  const page = request.path.toLowerCase();
  if (request.query.get('view_id') !== String(VIEW_ID)) return undefined;
  const clip = CLIPS.find((c) => String(c.clipId) === request.query.get('clip_id'));
  if (page === '/viewpublisher.php') return { html: viewPublisherPage(request) };
  if (page === '/agendaviewer.php' && clip?.agenda) return { redirect: `${filesUrl}${storedPath(clip, 'agenda')}`, status: 302 };
  if (page === '/minutesviewer.php' && clip?.minutesDocId && request.query.get('doc_id') === clip.minutesDocId) return { redirect: `${filesUrl}${storedPath(clip, 'minutes')}`, status: 302 };
  if (page === '/agendaviewer.php' && request.query.get('event_id') === String(UPCOMING.eventId)) {
    return { html: '<!DOCTYPE html><html><body><p>The agenda for this meeting has not been published yet.</p></body></html>' };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The ViewPublisher page
// ---------------------------------------------------------------------------------------------

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LONG_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The date cell: council rows as "Jan  7, 2020" after a hidden sort key, planning rows as "February&nbsp;19,&nbsp;2020 - 06:30&nbsp;PM". */
function dateCell(clip: Clip): string {
  const [year, month, day] = clip.date.split('-').map(Number) as [number, number, number];
  if (clip.body === 'City Council') {
    const sortKey = Math.floor(Date.UTC(year, month - 1, day, 12) / 1000);
    return `<span style="display:none;">${sortKey}</span>${MONTHS[month - 1]} ${String(day).padStart(2, ' ')}, ${year}`;
  }
  return `${LONG_MONTHS[month - 1]}&nbsp;${day},&nbsp;${year} - ${clip.time.replace(' ', '&nbsp;')}`;
}

function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9]+/g, '-');
}

function archiveRow(clip: Clip, host: string, index: number): string {
  const id = slug(clip.body);
  const player = `window.open('//${host}/MediaPlayer.php?view_id=${VIEW_ID}&amp;clip_id=${clip.clipId}','player','toolbar=no,directories=no,status=yes,scrollbars=yes,resizable=yes,menubar=no')`;
  // Newer meetings also have the agenda as a web page (GeneratedAgendaViewer), which is not the PDF.
  const agenda = clip.agenda
    ? `<a href="${agendaLink(host, clip).replace(/&/g, '&amp;')}" target="_blank">Agenda</a>` +
      (clip.date >= '2021-03-01' ? ` <a href="//${host}/GeneratedAgendaViewer.php?view_id=${VIEW_ID}&amp;clip_id=${clip.clipId}" target="_blank">HTML</a>` : '')
    : '';
  let minutes = '';
  if (clip.minutesDocId && clip.menu) {
    // A document menu, as some clients have: an action summary and the minutes, both on MinutesViewer.
    minutes = `<select onchange="window.open(this.value)" aria-label="Documents">
                <option value="">Documents...</option>
                <option value="//${host}/MinutesViewer.php?view_id=${VIEW_ID}&amp;clip_id=${clip.clipId}&amp;doc_id=9f8e7d6c-0000-4000-8000-00000000${clip.clipId}">Action Summary</option>
                <option value="${minutesLink(host, clip).replace(/&/g, '&amp;')}">Minutes</option>
              </select>`;
  } else if (clip.minutesDocId) {
    minutes = `<a href="${minutesLink(host, clip).replace(/&/g, '&amp;')}" target="_blank">Minutes</a>`;
  }
  return `            <tr class="listingRow${index % 2 ? 'Alt' : ''}">
              <td class="listItem" headers="Name" id="${id}" scope="row">
                <a href="javascript:void(0);" onclick="${player}">play</a>&nbsp;${clip.body}
              </td>
              <td class="listItem" headers="Date ${id}" nowrap>${dateCell(clip)}</td>
              <td class="listItem" headers="Duration ${id}">${clip.duration.replace(' ', '&nbsp;')}</td>
              <td class="listItem" headers="AgendaLink ${id}">${agenda}</td>
              <td class="listItem" headers="MinutesLink ${id}">${minutes}</td>
              <td class="listItem" headers="VideoLink ${id}">${clip.video ? `<a href="javascript:void(0);" onclick="${player}">Video</a>` : ''}</td>
              <td class="listItem" headers="MP4Link ${id}">${clip.video ? `<a href="https://archive-video.granicus.com/${CLIENT}/${CLIENT}_${createHash('md5').update(String(clip.clipId)).digest('hex').slice(0, 8)}-${clip.clipId}.mp4">Download MP4</a>` : ''}</td>
            </tr>`;
}

function viewPublisherPage(request: FixtureRequest): string {
  const host = request.headers.host ?? '127.0.0.1';
  const bodies = ['City Council', 'Planning Commission'] as const;
  const panels = bodies
    .map((body, panel) => {
      const clips = CLIPS.filter((c) => c.body === body).sort((a, b) => b.date.localeCompare(a.date));
      const years = [...new Set(clips.map((c) => c.date.slice(0, 4)))];
      return `  <div id="CollapsiblePanel${panel + 1}" class="CollapsiblePanel">
    <div class="CollapsiblePanelTab" tabindex="0">${body}</div>
    <div class="CollapsiblePanelContent">
      <div id="TabbedPanels${panel + 1}" class="TabbedPanels">
        <ul class="TabbedPanelsTabGroup">
${years.map((year) => `          <li class="TabbedPanelsTab" tabindex="0">${year}</li>`).join('\n')}
        </ul>
        <div class="TabbedPanelsContentGroup">
${years
  .map(
    (year) => `          <div class="TabbedPanelsContent">
          <table class="listingTable" summary="${body} meetings, ${year}">
            <tr class="listingHeader">
              <th class="listHeader" id="Name" scope="col">Name</th>
              <th class="listHeader" id="Date" scope="col">Date</th>
              <th class="listHeader" id="Duration" scope="col">Duration</th>
              <th class="listHeader" scope="col">Agenda</th>
              <th class="listHeader" scope="col">Minutes</th>
              <th class="listHeader" id="VideoLink" scope="col">Video</th>
              <th class="listHeader" scope="col">MP4 Video</th>
            </tr>
${clips
  .filter((c) => c.date.startsWith(year))
  .map((clip, index) => archiveRow(clip, host, index))
  .join('\n')}
          </table>
          </div>`,
  )
  .join('\n')}
        </div>
      </div>
    </div>
  </div>`;
    })
    .join('\n');

  return `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
  <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
  <title>City of Rivertown - Meeting Archive</title>
  <link href="//${host}/ViewPublisher.css?view_id=${VIEW_ID}" rel="stylesheet" type="text/css" />
  <script src="/SpryAssets/SpryCollapsiblePanel.js" type="text/javascript"></script>
  <script src="/SpryAssets/SpryTabbedPanels.js" type="text/javascript"></script>
</head>
<body>
<div id="wrapper">
  <div id="header"><img src="//${host}/images/rivertown_logo.png" alt="City of Rivertown" /><h1>Meeting Videos &amp; Documents</h1></div>
  <p class="intro">Select a meeting to watch the video, or open its agenda and minutes. <a href="//${host}/ViewPublisherRSS.php?view_id=${VIEW_ID}&amp;mode=agendas">Agendas RSS</a></p>

  <h2 class="upcoming">Upcoming Events</h2>
  <table class="listingTable" id="upcoming" summary="Upcoming events">
    <tr>
      <th id="EventName" scope="col">Name</th>
      <th id="EventDate" scope="col">Date</th>
      <th scope="col">Agenda</th>
    </tr>
    <tr class="odd">
      <td class="listItem" headers="EventName" id="${slug(UPCOMING.body)}-" scope="row">${UPCOMING.body}</td>
      <td class="listItem" headers="EventDate ${slug(UPCOMING.body)}-" nowrap="">${UPCOMING.date}</td>
      <td class="listItem" headers="EventAgendaLink ${slug(UPCOMING.body)}-"><a href="//${host}/AgendaViewer.php?view_id=${VIEW_ID}&amp;event_id=${UPCOMING.eventId}" target="_blank">Agenda</a></td>
    </tr>
  </table>

  <h2 class="archive">Archived Videos</h2>
${panels}
</div>
<script type="text/javascript">
  var CollapsiblePanel1 = new Spry.Widget.CollapsiblePanel("CollapsiblePanel1", { contentIsOpen: true });
  var CollapsiblePanel2 = new Spry.Widget.CollapsiblePanel("CollapsiblePanel2", { contentIsOpen: false });
  var TabbedPanels1 = new Spry.Widget.TabbedPanels("TabbedPanels1");
  var TabbedPanels2 = new Spry.Widget.TabbedPanels("TabbedPanels2");
</script>
</body>
</html>
`;
}
