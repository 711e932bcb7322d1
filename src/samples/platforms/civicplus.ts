import { fixturePdf } from './documents.js';
import { startFixtureServer, type FixtureReply, type FixtureRequest } from './fixture-server.js';
import { platformFixture, type ExpectedDocument, type PlatformFixture, type PlatformFixtureOptions } from './types.js';

/**
 * "Fairview", a small city on CivicPlus (CivicEngage), as its Agenda Center search answers:
 * `/AgendaCenter/Search/?term=&CIDs=all&startDate=MM/DD/YYYY&endDate=MM/DD/YYYY&dateRange=&dateSelector=`
 * filtered by those dates and categories, in the markup real Agenda Center pages have (the
 * search form, category sections, `tr.catAgendaRow` rows with the HTML agenda, PDF, packet,
 * previous-versions and video links). The page is served on one server, fairview.civicplus.com's
 * stand-in; every file link there answers 302 to the same path on a second server, the city's
 * own domain, which serves the PDFs, as real CivicPlus sites redirect to the city's domain.
 *
 * `layout` picks how the site is set up: `grouped` (categories under header sections, "headers
 * on", the default) or `flat` (one section per category, "headers off", with the older row markup).
 */
export interface CivicplusFixtureOptions extends PlatformFixtureOptions {
  layout?: 'grouped' | 'flat';
}

interface Category {
  id: number;
  name: string;
  /** The header section it is grouped under, in the grouped layout. */
  header: { id: number; name: string };
}

const COUNCIL: Category = { id: 1, name: 'City Council', header: { id: 10, name: 'City Council' } };
const PLANNING: Category = { id: 2, name: 'Planning Commission', header: { id: 11, name: 'Boards & Commissions' } };
const PARKS: Category = { id: 3, name: 'Parks & Recreation Board', header: { id: 11, name: 'Boards & Commissions' } };
const CATEGORIES = [COUNCIL, PLANNING, PARKS];

interface Posting {
  id: number;
  category: Category;
  /** The meeting date as the row prints it; 2021-02-30 is the impossible one to reject. */
  date: string;
  posted: string;
  title: string;
  /** The agenda PDF is posted (every posting here has one). */
  minutes?: boolean;
  html?: boolean;
  packet?: boolean;
  video?: string;
}

const POSTINGS: Posting[] = [
  { id: 101, category: COUNCIL, date: '2020-01-14', posted: 'Jan 10, 2020 4:12 PM', title: 'City Council Regular Meeting', minutes: true, html: true, packet: true },
  { id: 102, category: PLANNING, date: '2020-02-05', posted: 'Jan 31, 2020 10:03 AM', title: 'Planning Commission Regular Meeting', minutes: true },
  { id: 103, category: PARKS, date: '2020-03-09', posted: 'Mar 5, 2020 2:45 PM', title: 'Parks & Recreation Board Meeting' },
  { id: 104, category: COUNCIL, date: '2020-06-02', posted: 'May 29, 2020 9:30 AM', title: 'City Council Special Meeting - 5:30 PM', minutes: true },
  { id: 105, category: COUNCIL, date: '2020-06-02', posted: 'May 29, 2020 9:41 AM', title: 'City Council Regular Meeting - 7:00 PM', minutes: true, html: true, video: 'https://www.youtube.com/watch?v=fvCC20200602' },
  { id: 106, category: PLANNING, date: '2020-09-16', posted: 'Sep 11, 2020 3:20 PM', title: 'Planning Commission Regular Meeting', minutes: true, video: 'https://www.youtube.com/watch?v=fvPC20200916' },
  { id: 107, category: PARKS, date: '2021-02-30', posted: 'Feb 24, 2021 1:05 PM', title: 'Parks & Recreation Board Meeting' },
  { id: 108, category: COUNCIL, date: '2021-04-13', posted: 'Apr 9, 2021 11:58 AM', title: 'City Council Regular Meeting', minutes: true, html: true, packet: true, video: 'https://www.youtube.com/watch?v=fvCC20210413' },
  { id: 109, category: PLANNING, date: '2021-07-21', posted: 'Jul 16, 2021 8:47 AM', title: 'Planning Commission Regular Meeting', packet: true },
  { id: 110, category: COUNCIL, date: '2021-11-09', posted: 'Nov 5, 2021 4:30 PM', title: 'City Council Regular Meeting', minutes: true },
];

/** The posting discovery must reject: its date does not exist. */
const REJECTED_POSTING_IDS = [107];

export const startCivicplusFixture = async (options: CivicplusFixtureOptions = {}): Promise<PlatformFixture> => {
  const layout = options.layout ?? 'grouped';
  // The city's own domain, where file links end up.
  const city = await startFixtureServer((request) => answerCityDomain(request), { port: options.filesPort ?? 0 });
  const site = await startFixtureServer((request) => answerCivicplus(request, layout, city.url), { port: options.port ?? 0 }).catch(async (error: unknown) => {
    await city.close();
    throw error;
  });

  const expected: ExpectedDocument[] = [];
  for (const posting of POSTINGS) {
    if (REJECTED_POSTING_IDS.includes(posting.id)) continue;
    expected.push({ kind: 'agenda', meeting: posting.category.name, date: posting.date, url: `${site.url}${viewFile('Agenda', posting)}` });
    if (posting.minutes) expected.push({ kind: 'minutes', meeting: posting.category.name, date: posting.date, url: `${site.url}${viewFile('Minutes', posting)}` });
  }

  return platformFixture({
    fetcher: 'civicplus',
    baseUrl: site.url,
    settings: {},
    allowHosts: [city.host],
    expected,
    expectedRejected: REJECTED_POSTING_IDS.length,
    servers: [site, city],
  });
};

/** "/AgendaCenter/ViewFile/Agenda/_01142020-101". */
function viewFile(kind: 'Agenda' | 'Minutes', posting: Posting): string {
  return `/AgendaCenter/ViewFile/${kind}/${fileId(posting)}`;
}

/** "_01142020-101": the meeting date as MMDDYYYY, then the agenda id. */
function fileId(posting: Posting): string {
  const [year, month, day] = posting.date.split('-');
  return `_${month}${day}${year}-${posting.id}`;
}

function answerCivicplus(request: FixtureRequest, layout: 'grouped' | 'flat', cityUrl: string): FixtureReply | undefined {
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  if (/^\/AgendaCenter\/ViewFile\//i.test(request.path)) {
    const query = request.query.toString();
    return { redirect: `${cityUrl}${request.path}${query ? `?${query}` : ''}`, status: 302 };
  }
  if (request.path.toLowerCase() !== '/agendacenter/search/' && request.path.toLowerCase() !== '/agendacenter/search') return undefined;
  const start = usDate(request.query.get('startDate'));
  const end = usDate(request.query.get('endDate'));
  if (start === null || end === null) return { status: 400, body: 'Bad date', headers: { 'Content-Type': 'text/plain' } };
  const cids = request.query.get('CIDs') ?? 'all';
  const wanted = cids === 'all' || cids === '' ? null : new Set(cids.split(',').filter(Boolean).map(Number));
  const postings = POSTINGS.filter((p) => (start === undefined || p.date >= start) && (end === undefined || p.date <= end) && (!wanted || wanted.has(p.category.id)));
  return { html: searchPage(postings, layout, request) };
}

/** "01/14/2020" -> "2020-01-14"; undefined when not given (no bound), null when unreadable. */
function usDate(value: string | null): string | undefined | null {
  if (value === null || value === '') return undefined;
  const match = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
  return match ? `${match[3]}-${match[1]!.padStart(2, '0')}-${match[2]!.padStart(2, '0')}` : null;
}

async function answerCityDomain(request: FixtureRequest): Promise<FixtureReply | undefined> {
  const match = /^\/AgendaCenter\/ViewFile\/(Agenda|Minutes)\/_(\d{8})-(\d+)$/.exec(request.path);
  const posting = match ? POSTINGS.find((p) => p.id === Number(match[3]) && fileId(p) === `_${match[2]}-${match[3]}`) : undefined;
  if (!match || !posting || (match[1] === 'Minutes' && !posting.minutes)) return undefined;
  const name = posting.category.name;
  if (request.query.get('html') === 'true') return { html: `<!DOCTYPE html><html><body><h1>${escape(name)}</h1><p>${escape(posting.title)}</p></body></html>` };
  // The packet: the agenda with its staff reports, a different (longer) document.
  if (request.query.get('packet') === 'true') return { pdf: await fixturePdf('agenda', `${name} packet`, posting.date) };
  // Two postings of one body on one day are different documents (the titles say which session).
  const meeting = posting.id === 104 ? `${name} (special meeting)` : name;
  return { pdf: await fixturePdf(match[1] === 'Agenda' ? 'agenda' : 'minutes', meeting, posting.date) };
}

// ---------------------------------------------------------------------------------------------
// The search results page
// ---------------------------------------------------------------------------------------------

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "2020-01-14" -> { long: "January 14, 2020", short: "Jan 14, 2020" }; works for 2021-02-30 as printed. */
function printed(date: string): { long: string; month: string; short: string; padded: string } {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const name = MONTHS[month - 1]!;
  return { long: `${name} ${day}, ${year}`, month: name, short: `<abbr title="${name}">${name.slice(0, 3)}</abbr> ${day}, ${year}`, padded: `${name} ${String(day).padStart(2, '0')}, ${year}` };
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function searchPage(postings: Posting[], layout: 'grouped' | 'flat', request: FixtureRequest): string {
  const startDate = request.query.get('startDate') ?? '';
  const endDate = request.query.get('endDate') ?? '';
  const listing = layout === 'grouped' ? groupedListing(postings) : flatListing(postings);
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta http-equiv="Content-type" content="text/html; charset=UTF-8" />
  <title>Agenda Center • Fairview, OH • CivicEngage</title>
  <link href="/1458431777.css" rel="stylesheet" type="text/css" />
  <script type="text/javascript">
    function doSearch() {
      var term = $('#searchField').val();
      document.location = '/AgendaCenter/Search/?term=' + escape(term.trim()) + '&CIDs=' + cids + '&startDate=' + startDate + '&endDate=' + endDate + '&dateRange=' + dt + '&dateSelector=' + dateSelector;
    }
    $(document).ready(function () { $('body').append('<div id="cpDatePickerWrapper" class="bottom leftEdge"></div>'); });
  </script>
  <meta property="og:url" content="${escape(`/AgendaCenter/Search/?term=&CIDs=all&startDate=${startDate}&endDate=${endDate}&dateRange=&dateSelector=`)}" />
</head>
<body>
<div id="outer-wrap">
  <header><nav id="mainNav"><a href="/">Home</a> <a href="/27/Government">Government</a> <a href="/AgendaCenter">Agendas &amp; Minutes</a> <a href="/DocumentCenter">Document Center</a></nav></header>
  <div data-cpRole="breadCrumbs" class="breadCrumbContainer"><ol class="semanticList breadCrumbs"><li><a class="breadCrumb" href="/">Home</a></li><li>Agenda Center</li></ol></div>
  <div data-cpRole="mainContentContainer" id="moduleContent">
<!-- BEGIN AgendaCenterContent.aspx ***** -->
<input type="hidden" name="dateRange" />
  <div id="AgendaCenterContent" class="agendaCenterContent newCP moduleContentNew ">
    <div class="contentMain selfClear">
      <div class="header selfClear">
        <div class="text"><h1>Agenda Center</h1></div>
        <div class="tools"><h3>Tools</h3><ul><li><a href="/rss.aspx#agendaCenter" class="RSS">RSS</a></li><li><a href="/list.aspx#agendaCenter" class="notifyMe">Notify Me</a></li></ul></div>
        <section class="search selfClear" aria-label="Agenda Center Module Search">
          <h3 id="moduleSearchHeader">Search Agendas by:</h3>
          <div class="date"><label class="screenRead" for="StartDatePicker">Start Date</label>
            <input class="submittedStart" id="StartDatePicker" maxlength="10" name="StartDate" placeholder="Start Date" title="Start Date" type="text" value="${escape(startDate)}" /></div>
          <div class="date"><label class="screenRead" for="EndDatePicker">End Date</label>
            <input class="submittedEnd" id="EndDatePicker" maxlength="10" name="EndDate" placeholder="End Date" title="End Date" type="text" value="${escape(endDate)}" /></div>
          <input id="searchField" name="searchField" placeholder="Word or Phrase" title="Word or Phrase" type="text" value="" />
          <div id="categoryList" style="display:none;" class="categoryList"><ol>
            <li><label for="allCategories"><input type="checkbox" id="allCategories" checked> All Categories</label></li>
${CATEGORIES.map((c) => `            <li><label for="${c.id}"><input type="checkbox" id="${c.id}" name="chkCategoryID" value="${c.id}" checked="checked"> <em>${escape(c.header.name)}</em>&thinsp;&ndash;&thinsp;${escape(c.name)}</label></li>`).join('\n')}
          </ol></div>
          <input type="image" id="searchButton" src="/Common/images/SearchButton.png" title="Agenda Center Search" alt="Search">
        </section>
      </div>
    <a class="return" href="/AgendaCenter">&#9668; Back to all agendas</a>
    <p class="dim results">${postings.length === 0 ? 'There are no agendas that match your search.' : ''}</p>
${listing}
    </div>
  </div>
<!-- END AgendaCenterContent.aspx ***** -->
  </div>
  <footer><a href="/Accessibility">Accessibility</a> <a href="/Privacy">Privacy Policy</a> <a href="https://www.civicplus.com/civicengage">Government Websites by CivicPlus®</a></footer>
</div>
</body>
</html>
`;
}

/** Headers on: each header section holds its categories, each an `<h3>` and a table. */
function groupedListing(postings: Posting[]): string {
  const headers = [...new Map(CATEGORIES.map((c) => [c.header.id, c.header])).values()];
  return headers
    .map((header) => {
      const sections = CATEGORIES.filter((c) => c.header.id === header.id)
        .map((category) => ({ category, rows: postings.filter((p) => p.category === category) }))
        // Only categories with agendas to display are rendered.
        .filter((section) => section.rows.length > 0);
      if (sections.length === 0) return '';
      return `    <div class="listing listingCollapse" id="header${header.id}">
    <h2 tabindex="0" class="active" role="button" aria-expanded="true" data-cp-toggle="collapse" aria-controls="header-panel-${header.id}">${escape(header.name)}</h2>
    <div id="header-panel-${header.id}">
${sections
  .map(
    ({ category, rows }) => `      <div class="category popUpParent" id="cat${category.id}">
        <h3 tabindex="0" role="button" class="active" data-cp-toggle="collapse" aria-expanded="true" aria-controls="category-panel-${category.id}">${escape(category.name)}</h3>
        <span id="section${category.id}">
          <ul class="years"><li class="current"><a id="a0${category.id}" aria-label="${escape(category.name)} ${rows[0]!.date.slice(0, 4)}" href="javascript:changeYear(${rows[0]!.date.slice(0, 4)}, ${category.id},'a0')">${rows[0]!.date.slice(0, 4)}</a></li></ul>
          <div id="category-panel-${category.id}">
          <table id="table${category.id}" summary="List of Agendas">
            <thead><tr><th scope="col">Agenda</th><th scope="col" class="minutes">Minutes</th><th scope="col" class="media">Media</th><th scope="col" class="downloads">Download</th></tr></thead>
            <tbody>
            <!-- Agendas for a category starts -->
${rows.map((p) => groupedRow(p)).join('\n')}
            <!-- Agendas for a category ends -->
            </tbody>
          </table>
          </div>
        </span>
      </div>`,
  )
  .join('\n')}
    </div><!-- header panel ends -->
    </div>`;
    })
    .join('\n');
}

/** Headers off: one section per category, its name in an `<h2>` after the toggle arrow. */
function flatListing(postings: Posting[]): string {
  return `    <!-- Category list starts(when headers are off) -->
${CATEGORIES.map((category) => {
  const rows = postings.filter((p) => p.category === category);
  if (rows.length === 0) return '      <!-- Only render the section if there are agendas to display -->';
  return `      <div class="listing listingCollapse noHeader" id="cat${category.id}">
        <h2 tabindex="0" onkeypress="this.onclick();" onclick="expandCollaspseCategory(${category.id})"><span id="span${category.id}">&#9660;</span>${escape(category.name)}</h2>
        <span id="section${category.id}">
          <ul class="years"><li class="current"><a id="a0${category.id}" href="javascript:changeYear(${rows[0]!.date.slice(0, 4)}, ${category.id},'a0')">${rows[0]!.date.slice(0, 4)}</a></li></ul>
          <table id="table${category.id}" summary="List of Agendas" style="position:relative;">
            <thead><tr><th scope="col">Agenda</th><th scope="col" class="minutes">Minutes</th><th scope="col" class="videos">Media</th><th scope="col" class="downloads">Download</th></tr></thead>
            <tbody>
${rows.map((p) => flatRow(p)).join('\n')}
            </tbody>
          </table>
        </span>
      </div>`;
}).join('\n')}`;
}

/** The newer row markup: the date in an aria-labelled `<strong>`, the agenda PDF linked under it. */
function groupedRow(p: Posting): string {
  const id = fileId(p);
  const date = printed(p.date);
  return `<tr id="row${p.id}a45f4c5d" class="catAgendaRow">
  <td>
    <h3 class="noMargin" id="h4${id.slice(1)}">
      <a id="${id}" name="${id}"></a>
      <strong aria-label="Agenda for ${date.long}">${date.short}</strong>
      &thinsp;&mdash;&thinsp;Posted ${escape(p.posted)}
    </h3>
    <p><a id="${id.slice(1)}" name="${p.id}" href="${viewFile('Agenda', p)}" target="_blank" aria-describedby="h4${id.slice(1)}">${escape(p.title)}</a></p>
  </td>
  <!--This TD actually needs to be empty of all whitespace for matching :empty css selector.-->
  <td class="minutes">${p.minutes ? `<a href="${viewFile('Minutes', p)}" aria-label="${date.long}, ${escape(p.title)}. Minutes" target="_blank"><img src="/Areas/AgendaCenter/Assets/Images/HomeIconMinutes.png" alt="Minutes"></a>` : ''}</td>
  <td class="media">${p.video ? `<a href="${p.video}" aria-label="${date.long}, ${escape(p.title)}. Media" target="_blank"><img src="/Areas/AgendaCenter/Assets/Images/HomeIconVideos.png" alt="Videos"></a>` : ''}</td>
  <td class="downloads">${downloads(p)}</td>
</tr>`;
}

/** The older row markup: the date inside the title link (to the HTML agenda, when there is one). */
function flatRow(p: Posting): string {
  const id = fileId(p);
  const date = printed(p.date);
  const titleLink = p.html ? `${viewFile('Agenda', p)}?html=true` : viewFile('Agenda', p);
  return `<tr id="row${p.id}4090bea0" class="catAgendaRow">
    <a name="${id}"></a>
  <td>
    <h4>
      <a name="${id}"></a>
      <a name="${p.id}" title="${escape(p.title)}" href="${titleLink}" target="_blank"><strong>${date.short}</strong>
            &thinsp;&mdash;&thinsp;Posted ${escape(p.posted)}
      </a></h4>
    <p>${escape(p.title)}</p>
  </td>
  <td class="minutes">${p.minutes ? `<a href="${viewFile('Minutes', p)}" aria-label="${date.long}, ${escape(p.title)}. Minutes" target="_blank"><img src="/Areas/AgendaCenter/Assets/Images/HomeIconMinutes.png" alt="Minutes"></a>` : ''}</td>
  <td class="videos">${p.video ? `<a href="${p.video}" aria-label="${date.long}, ${escape(p.title)}. Media" target="_blank"><img src="/Areas/AgendaCenter/Assets/Images/HomeIconVideos.png" alt="Videos"></a>` : ''}</td>
  <td class="downloads">${downloads(p)}</td>
</tr>`;
}

/** The Download menu: HTML agenda, PDF, packet, previous versions. */
function downloads(p: Posting): string {
  const date = printed(p.date);
  const label = (what: string) => `${date.padded}, ${escape(p.title)}. ${what}`;
  const items = [
    p.html ? `<li><a class="html" aria-label="${label('HTML')}" href="${viewFile('Agenda', p)}?html=true" target="_blank">HTML</a></li>` : '',
    `<li><a class="pdf" aria-label="${label('PDF')}" href="${viewFile('Agenda', p)}" target="_blank">PDF</a></li>`,
    p.packet ? `<li><a class="pdf" aria-label="${label('Packet')}" href="${viewFile('Agenda', p)}?packet=true" target="_blank">Packet</a></li>` : '',
    `<li><a role="menuitem" aria-label="${label('Previous Version')}" class="previous" href="/AgendaCenter/PreviousVersions/${fileId(p)}">Previous Versions</a></li>`,
  ].filter(Boolean);
  return `
    <div id="downloadContainer${p.id}" class="popoutContainer">
      <a href="" id="btnAgendaDD${p.id}" data-cp-toggle="dropdown" aria-controls="agendaDD${p.id}" aria-haspopup="true" aria-expanded="false" role="button" class="button"><span id="spanDD${p.id}">Download&nbsp;&#9660;</span></a>
      <div class="popout popUp" id="agendaDD${p.id}" style="display:none;">
        <div class="popoutTop"><div class="popoutBtm"><ol role="menu">
          ${items.join('\n          ')}
        </ol></div></div>
      </div>
    </div>`;
}
