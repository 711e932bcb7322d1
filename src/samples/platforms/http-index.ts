import { fixturePdf } from './documents.js';
import { startFixtureServer, type FixtureReply, type FixtureRequest } from './fixture-server.js';
import { platformFixture, type ExpectedDocument, type PlatformFixtureOptions, type StartPlatformFixture } from './types.js';

/**
 * "Oakdale", a town whose website has one "Agendas & Minutes" page, as many small towns do: a
 * list per board, each document a link to `/DocumentCenter/View/<id>/<slug>` (no .pdf in the
 * URL) whose text names the board, the kind and the date ("Select Board Minutes – November 9,
 * 2021"), with packet and video links beside it, an online (HTML) agenda, and unrelated PDFs in
 * the sidebar. Nothing says which link is which but the text, so the site needs the http-index
 * pattern settings this fixture returns.
 */
const PAGE = '/government/agendas-minutes';

const SETTINGS = {
  link_selector: '#content ul.documents > li > a:first-child',
  link_pattern: '/DocumentCenter/View/\\d+/',
  meeting_pattern: '^(?<meeting>.+?)\\s+(?:Special\\s+Meeting\\s+)?(?:Agenda|Minutes)\\b',
  date_pattern: '(?<date>[A-Z][a-z]+\\.? \\d{1,2}, \\d{4}|\\d{1,2}-\\d{1,2}-\\d{4})',
};

interface Posting {
  id: number;
  board: 'Select Board' | 'Planning Board';
  kind: 'agenda' | 'minutes';
  /** The real meeting date; 2021-02-30 is the impossible one to reject. */
  date: string;
  /** The link text, as the clerk typed it. */
  text: string;
  packet?: boolean;
  video?: string;
}

const POSTINGS: Posting[] = [
  { id: 1201, board: 'Select Board', kind: 'agenda', date: '2020-01-07', text: 'Select Board Agenda – January 7, 2020', packet: true },
  { id: 1203, board: 'Select Board', kind: 'minutes', date: '2020-01-07', text: 'Select Board Minutes – January 7, 2020' },
  // No date in the text: it is in the file name only.
  { id: 1250, board: 'Planning Board', kind: 'agenda', date: '2020-03-04', text: 'Planning Board Agenda (revised)' },
  { id: 1262, board: 'Select Board', kind: 'minutes', date: '2020-06-02', text: 'Select Board Special Meeting Minutes – June 2, 2020' },
  { id: 1263, board: 'Select Board', kind: 'minutes', date: '2020-06-02', text: 'Select Board Minutes – June 2, 2020' },
  { id: 1264, board: 'Select Board', kind: 'agenda', date: '2020-06-02', text: 'Select Board Agenda – June 2, 2020', video: 'https://www.youtube.com/watch?v=oakSB200602' },
  { id: 1271, board: 'Planning Board', kind: 'agenda', date: '2020-09-16', text: 'Planning Board Agenda – Sept. 16, 2020' },
  { id: 1274, board: 'Planning Board', kind: 'minutes', date: '2020-09-16', text: 'Planning Board Minutes – September 16, 2020' },
  { id: 1279, board: 'Planning Board', kind: 'minutes', date: '2021-02-30', text: 'Planning Board Minutes – February 30, 2021' },
  { id: 1280, board: 'Select Board', kind: 'agenda', date: '2021-04-13', text: 'Select Board Agenda – April 13, 2021', packet: true, video: 'https://www.youtube.com/watch?v=oakSB210413' },
  { id: 1282, board: 'Select Board', kind: 'minutes', date: '2021-04-13', text: 'Select Board Minutes – April 13, 2021' },
  { id: 1284, board: 'Planning Board', kind: 'agenda', date: '2021-07-21', text: 'Planning Board Agenda – July 21, 2021' },
  { id: 1287, board: 'Select Board', kind: 'agenda', date: '2021-11-09', text: 'Select Board Agenda – November 9, 2021', packet: true, video: 'https://www.youtube.com/watch?v=oakSB211109' },
  { id: 1288, board: 'Select Board', kind: 'minutes', date: '2021-11-09', text: 'Select Board Minutes – November 9, 2021' },
];

/** The posting discovery must reject: its date does not exist. */
const REJECTED_POSTING_IDS = [1279];

/** Not meeting documents, in the sidebar; the same document store serves them. */
const SIDEBAR = [
  { id: 901, slug: 'Annual-Town-Report-2020', text: 'Annual Town Report 2020' },
  { id: 902, slug: 'Fee-Schedule', text: 'Fee Schedule (PDF)' },
  { id: 903, slug: 'Select-Board-Meeting-Schedule-2021', text: 'Select Board Meeting Schedule 2021' },
];

/** "/DocumentCenter/View/1288/SB-Minutes-11-09-2021", as the town's document store names files. */
function documentPath(posting: Posting): string {
  const [year, month, day] = posting.date.split('-');
  const board = posting.board === 'Select Board' ? 'SB' : 'PB';
  return `/DocumentCenter/View/${posting.id}/${board}-${posting.kind === 'agenda' ? 'Agenda' : 'Minutes'}-${month}-${day}-${year}`;
}

function packetPath(posting: Posting): string {
  return documentPath(posting).replace(`/${posting.id}/`, `/${posting.id + 1}/`).replace('-Agenda-', '-Packet-');
}

export const startHttpIndexFixture: StartPlatformFixture = async (options: PlatformFixtureOptions = {}) => {
  const site = await startFixtureServer((request) => answerTownSite(request), { port: options.port ?? 0 });
  const expected: ExpectedDocument[] = POSTINGS.filter((p) => !REJECTED_POSTING_IDS.includes(p.id)).map((p) => ({
    kind: p.kind,
    meeting: p.board,
    date: p.date,
    url: `${site.url}${documentPath(p)}`,
  }));
  return platformFixture({
    fetcher: 'http-index',
    baseUrl: `${site.url}${PAGE}`,
    settings: { ...SETTINGS },
    allowHosts: [],
    expected,
    expectedRejected: REJECTED_POSTING_IDS.length,
    servers: [site],
  });
};

async function answerTownSite(request: FixtureRequest): Promise<FixtureReply | undefined> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  if (request.path === PAGE) return { html: agendasPage() };
  const posting = POSTINGS.find((p) => request.path === documentPath(p));
  if (posting) {
    // The special meeting's minutes are a document of their own.
    const meeting = posting.id === 1262 ? `${posting.board} (special meeting)` : posting.board;
    return { pdf: await fixturePdf(posting.kind, meeting, posting.date) };
  }
  const packet = POSTINGS.find((p) => p.packet && request.path === packetPath(p));
  if (packet) return { pdf: await fixturePdf('agenda', `${packet.board} packet`, packet.date) };
  const other = SIDEBAR.find((d) => request.path === `/DocumentCenter/View/${d.id}/${d.slug}`);
  if (other) return { pdf: await fixturePdf('agenda', other.text, '2021-01-01') };
  return undefined;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function agendasPage(): string {
  const section = (board: Posting['board'], id: string) => {
    const years = [...new Set(POSTINGS.filter((p) => p.board === board).map((p) => p.date.slice(0, 4)))].sort().reverse();
    return `    <section class="board" id="${id}">
      <h2>${board}</h2>
      <p>${board === 'Select Board' ? 'Meets the first and third Tuesday of each month at 7:00 p.m. in the Town Hall Auditorium.' : 'Meets the third Wednesday of each month at 6:30 p.m.'}</p>
${years
  .map((year) => {
    const items = POSTINGS.filter((p) => p.board === board && p.date.startsWith(year))
      .sort((a, b) => b.date.localeCompare(a.date) || b.id - a.id)
      .map((p) => {
        const extras = [
          p.packet ? ` <a class="packet" href="${packetPath(p)}">(packet)</a>` : '',
          p.video ? ` <a class="video" href="${p.video}" target="_blank" rel="noopener">(video)</a>` : '',
        ].join('');
        return `        <li><a href="${documentPath(p)}">${escape(p.text)}</a>${extras}</li>`;
      });
    // The online agenda builder's web page for the April 2021 meeting: not the PDF.
    if (board === 'Select Board' && year === '2021') items.unshift('        <li><a href="/Calendar.aspx?EID=4471">Select Board Agenda – April 13, 2021 (online version)</a></li>');
    return `      <h3>${year}</h3>\n      <ul class="documents">\n${items.join('\n')}\n      </ul>`;
  })
  .join('\n')}
    </section>`;
  };
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Agendas &amp; Minutes | Town of Oakdale</title>
  <link rel="stylesheet" href="/assets/site.css">
</head>
<body>
  <header class="site-header">
    <a class="logo" href="/"><img src="/images/oakdale-seal.png" alt="Town of Oakdale"></a>
    <nav class="main-nav"><ul>
      <li><a href="/government">Government</a></li>
      <li><a href="/departments">Departments</a></li>
      <li><a href="${PAGE}">Agendas &amp; Minutes</a></li>
      <li><a href="/contact">Contact</a></li>
    </ul></nav>
  </header>
  <aside class="sidebar">
    <h2>Quick Links</h2>
    <ul>
${SIDEBAR.map((d) => `      <li><a href="/DocumentCenter/View/${d.id}/${d.slug}">${escape(d.text)}</a></li>`).join('\n')}
      <li><a href="https://www.facebook.com/TownOfOakdale">Facebook</a></li>
    </ul>
  </aside>
  <main id="content">
    <h1>Agendas &amp; Minutes</h1>
    <p>Agendas are posted at least 48 hours before each meeting; minutes once the board approves them.
       Older records are kept at Town Hall: contact the <a href="mailto:clerk@oakdale.example">Town Clerk</a>.</p>
${section('Select Board', 'select-board')}
${section('Planning Board', 'planning-board')}
  </main>
  <footer><p>Town of Oakdale, 1 Main Street, Oakdale &middot; <a href="/accessibility">Accessibility</a></p></footer>
</body>
</html>
`;
}
