import { html, raw } from 'hono/html';
import type { DocumentKind } from '../db/schema.js';
import type { LowConfidenceView, MeetingView, PageView, PersonView, SearchResults, SiteOverview, SiteSummary } from './data.js';
import { LOW_CONFIDENCE } from './queries.js';

/**
 * Server-rendered pages. Every value goes through hono's `html` template, which escapes it; the
 * one `raw` is a search snippet, which highlight() escaped before adding its <mark>s.
 */

type Html = ReturnType<typeof html>;

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 0 1rem 3rem; color: #1d1d1f; }
  header { display: flex; gap: 1rem; align-items: baseline; border-bottom: 1px solid #ddd; padding: .75rem 0; margin-bottom: 1rem; }
  header a.home { font-weight: 700; font-size: 1.25rem; text-decoration: none; }
  a { color: #0b57d0; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eee; vertical-align: top; }
  form.search { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: 1rem 0; }
  form.search label { display: flex; flex-direction: column; font-size: .8rem; color: #555; }
  form.search input[name=q] { min-width: 18rem; font-size: 1rem; padding: .3rem; }
  mark { background: #ffe066; padding: 0 .1em; }
  .hit { margin: 1rem 0; }
  .hit .where { font-size: .85rem; color: #555; }
  .snippet { margin: .2rem 0; }
  .problem { background: #fdecea; border: 1px solid #f5c2bd; padding: .75rem 1rem; border-radius: .3rem; }
  .low { color: #a4262c; font-weight: 600; }
  .muted { color: #666; }
  pre.text { white-space: pre-wrap; background: #fafafa; border: 1px solid #eee; padding: 1rem; font: 14px/1.45 ui-monospace, monospace; }
  nav.pager, nav.pages { display: flex; gap: 1rem; margin: 1rem 0; }
  ul.entities { display: flex; flex-wrap: wrap; gap: .4rem; list-style: none; padding: 0; }
  ul.entities li { background: #f2f4f8; border-radius: 1rem; padding: .1rem .7rem; }
  .vote { border: 1px solid #ddd; border-radius: .3rem; padding: .5rem 1rem; margin: .75rem 0; }
  .aye { color: #1e7d32; } .nay { color: #a4262c; }
  details.help { font-size: .9rem; margin-bottom: 1rem; }
  code { background: #f2f2f2; padding: 0 .2em; }
`;

function layout(title: string, body: Html, options: { feed?: string } = {}): Html {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title} · clerk</title>
    ${options.feed ? html`<link rel="alternate" type="application/atom+xml" href="${options.feed}" />` : ''}
    <style>
      ${raw(STYLE)}
    </style>
  </head>
  <body>
    <header><a class="home" href="/">clerk</a><span class="muted">council meeting archives</span></header>
    <main>${body}</main>
  </body>
</html>`;
}

/** A refused or failed request. On a search page, the form comes back filled in, to fix the query. */
export function errorPage(status: number, message: string, search?: { query: Record<string, string | undefined>; action: string | null }): Html {
  const title = status === 404 ? 'Not found' : status === 400 ? 'Bad request' : 'Error';
  const q = search?.query.q;
  return layout(
    title,
    html`<h1>${title}</h1>
      <p class="problem" data-testid="problem">${message}</p>
      ${q !== undefined && q !== '' ? html`<p>Your query: <code data-testid="query">${q}</code></p>` : ''}
      ${search?.action ? searchForm({ action: search.action, values: search.query }) : ''} ${q !== undefined ? queryHelp(true) : ''}
      <p><a href="/">All sites</a></p>`,
  );
}

export function sitesPage(sites: SiteSummary[]): Html {
  return layout(
    'Sites',
    html`<h1>Council meeting archives</h1>
      ${searchForm({ action: '/search', values: {} })}
      ${queryHelp(false)}
      ${sites.length === 0
        ? html`<p data-testid="no-sites">No site is deployed yet. Run <code>clerk enqueue &lt;site&gt; --wait</code>, then reload.</p>`
        : html`<table data-testid="sites">
            <thead>
              <tr><th>site</th><th>pages</th><th>meetings</th><th>meeting dates</th><th>last update</th><th>version</th></tr>
            </thead>
            <tbody>
              ${sites.map(
                (s) => html`<tr data-testid="site" data-site="${s.subdomain}">
                  <td><a href="${s.url}">${s.name}</a>${s.name !== s.subdomain ? html` <span class="muted">${s.subdomain}</span>` : ''}</td>
                  <td>${s.pages}</td>
                  <td>${s.meetings}</td>
                  <td>${s.firstMeeting ?? ''} – ${s.lastMeeting ?? ''}</td>
                  <td><time datetime="${s.lastUpdate}">${shortTime(s.lastUpdate)}</time></td>
                  <td>${s.version ?? '—'} ${s.variant ? html`<span class="muted">(${s.variant})</span>` : ''}</td>
                </tr>`,
              )}
            </tbody>
          </table>`}`,
  );
}

export function sitePage(overview: SiteOverview): Html {
  const { site } = overview;
  return layout(
    site.name,
    html`<h1>${site.name}</h1>
      <p class="muted" data-testid="site-stats">
        ${count(site.pages, 'page')} (${site.minutesPages} of minutes, ${site.agendaPages} of agendas) from ${count(site.meetings, 'meeting')}, ${site.firstMeeting ?? ''} to
        ${site.lastMeeting ?? ''}; updated <time datetime="${site.lastUpdate}">${shortTime(site.lastUpdate)}</time>${site.version ? html`, version ${site.version}` : ''}${site.variant
          ? html` (${site.variant})`
          : ''}.
        <a href="${site.url}/feed.atom">Atom feed of new meetings</a>
      </p>
      ${site.legacy ? html`<p class="problem">This archive was compiled by an older clerk: run <code>clerk enqueue ${site.subdomain} --full</code> to add documents, sources, OCR confidence and people.</p>` : ''}
      ${searchForm({ action: `${site.url}/search`, values: {}, bodies: overview.bodies.map((b) => b.meeting) })}
      ${queryHelp(false)}
      ${site.lowConfidencePages > 0
        ? html`<p><a href="${site.url}/low-confidence" data-testid="low-confidence-link">${count(site.lowConfidencePages, 'page')} read with low OCR confidence</a> (under ${LOW_CONFIDENCE})</p>`
        : ''}
      <h2>Meeting bodies</h2>
      <ul data-testid="bodies">
        ${overview.bodies.map(
          (b) => html`<li><a href="${site.url}/search?body=${encodeURIComponent(b.meeting)}">${b.meeting}</a> <span class="muted">${count(b.meetings, 'meeting')}, last ${b.lastDate}</span></li>`,
        )}
      </ul>
      <h2>Recent meetings</h2>
      <table data-testid="recent-meetings">
        ${overview.recentMeetings.map(
          (m) => html`<tr data-testid="meeting"><td>${m.date}</td><td><a href="${m.url}">${m.meeting}</a></td><td class="muted">${m.kinds.map(kindLabel).join(', ')} · ${count(m.pages, 'page')}</td></tr>`,
        )}
      </table>
      ${overview.people.length > 0
        ? html`<h2>People</h2>
            <ul class="entities" data-testid="people">
              ${overview.people.map((p) => html`<li><a href="${p.url}">${p.name}</a> <span class="muted">${count(p.pages, 'page')}</span></li>`)}
            </ul>`
        : ''}`,
    { feed: `${site.url}/feed.atom` },
  );
}

export function searchPage(options: { results: SearchResults; site?: SiteSummary; bodies?: string[]; path: string }): Html {
  const { results, site } = options;
  const q = results.query;
  const title = q.q ? `${q.q} – search${site ? ` ${site.name}` : ''}` : `Search${site ? ` ${site.name}` : ' all sites'}`;
  const values = { q: q.q, body: q.body ?? '', from: q.from ?? '', to: q.to ?? '', kind: q.kind ?? '' };
  const feed = site && q.q ? `${site.url}/search.atom?${new URLSearchParams(withoutEmpty(values)).toString()}` : undefined;
  return layout(
    title,
    html`<h1>${site ? html`Search <a href="${site.url}">${site.name}</a>` : 'Search all sites'}</h1>
      ${searchForm({ action: options.path, values, bodies: options.bodies })}
      ${queryHelp(false)}
      ${q.q === ''
        ? ''
        : html`<p data-testid="total">
              ${results.total} ${results.total === 1 ? 'page matches' : 'pages match'}${results.total > 0 ? `, best first; page ${results.page} of ${Math.max(results.pageCount, 1)}` : ''}.
              ${feed ? html`<a href="${feed}" data-testid="search-feed">Follow this search (Atom)</a>` : ''}
            </p>
            <div data-testid="hits">
              ${results.hits.map(
                (hit) => html`<article class="hit" data-testid="hit" data-site="${hit.site}" data-page-id="${hit.id}">
                  <div><a href="${hit.url}" data-testid="hit-link">${hit.meeting} ${hit.date}, ${kindLabel(hit.kind)} page ${hit.page}</a></div>
                  <p class="snippet" data-testid="snippet">${raw(hit.snippetHtml)}</p>
                  <div class="where">${site ? '' : html`<a href="/sites/${hit.site}">${hit.site}</a> · `}<a href="${hit.meetingUrl}">the meeting</a></div>
                </article>`,
              )}
            </div>
            ${pager(options.path, values, results.page, results.pageCount)}`}`,
    { feed },
  );
}

export function meetingPage(view: MeetingView): Html {
  const siteUrl = `/sites/${view.site}`;
  return layout(
    `${view.meeting} ${view.date}`,
    html`<p><a href="${siteUrl}">${view.siteName}</a></p>
      <h1>${view.meeting}, ${view.date}</h1>
      ${view.documents.map(
        (d) => html`<section data-testid="document" data-kind="${d.kind}">
          <h2>${kindLabel(d.kind)} <span class="muted">${count(d.pageCount, 'page')}</span></h2>
          ${d.sourceUrl && /^https?:/i.test(d.sourceUrl) ? html`<p><a href="${d.sourceUrl}">Source PDF</a></p>` : ''}
          <ol data-testid="meeting-pages">
            ${d.pages.map(
              (p) => html`<li value="${p.page}" data-testid="meeting-page">
                <a href="${p.url}">page ${p.page}</a>${p.lowConfidence ? html` <span class="low">low OCR confidence (${Math.round(p.ocrConfidence ?? 0)})</span>` : ''}
                <div class="muted">${p.excerpt}${p.excerpt.length >= 400 ? '…' : ''}</div>
              </li>`,
            )}
          </ol>
        </section>`,
      )}`,
  );
}

export function pagePage(view: PageView): Html {
  const siteUrl = `/sites/${view.site}`;
  const personUrl = (name: string) => `${siteUrl}/people/${encodeURIComponent(name)}`;
  return layout(
    `${view.meeting} ${view.date} p. ${view.page}`,
    html`<p><a href="${siteUrl}">${view.siteName}</a> · <a href="${view.meetingUrl}" data-testid="meeting-link">${view.meeting}, ${view.date}</a></p>
      <h1>${view.meeting}, ${view.date}: ${kindLabel(view.kind)} page ${view.page}</h1>
      <nav class="pages">
        ${view.prev ? html`<a href="${view.prev.url}" rel="prev" data-testid="prev">← page ${view.prev.page}</a>` : ''}
        ${view.next ? html`<a href="${view.next.url}" rel="next" data-testid="next">page ${view.next.page} →</a>` : ''}
        ${view.sourcePageUrl ? html`<a href="${view.sourcePageUrl}" data-testid="source-link">this page in the source PDF</a>` : ''}
      </nav>
      <p data-testid="ocr">
        ${view.ocrConfidence === null
          ? html`<span class="muted">Read from the PDF's text layer.</span>`
          : html`Read by OCR, confidence ${Math.round(view.ocrConfidence)}/100${view.lowConfidence
              ? html` <span class="low" data-testid="low-confidence">low confidence: check the source</span>`
              : ''}.`}
      </p>
      ${view.extracted
        ? html`<section>
              <h2>People, organisations and places</h2>
              ${entityList('Persons', 'persons', view.entities.persons, personUrl)} ${entityList('Organisations', 'orgs', view.entities.orgs)}
              ${entityList('Locations', 'locations', view.entities.locations)}
            </section>
            <section data-testid="votes">
              <h2>Votes</h2>
              ${view.votes.length === 0 ? html`<p class="muted">No vote on this page.</p>` : view.votes.map((v) => voteBlock(v, personUrl))}
            </section>`
        : html`<p class="muted">Entities and votes are not in this archive yet (it is the search-only archive published before extraction ends).</p>`}
      <h2>Text</h2>
      <pre class="text" data-testid="page-text">${view.text}</pre>`,
  );
}

function entityList(title: string, testId: string, names: string[], link?: (name: string) => string): Html {
  return html`<h3>${title}</h3>
    ${names.length === 0
      ? html`<p class="muted" data-testid="${testId}">none</p>`
      : html`<ul class="entities" data-testid="${testId}">
          ${names.map((name) => html`<li data-testid="entity">${link ? html`<a href="${link(name)}">${name}</a>` : name}</li>`)}
        </ul>`}`;
}

function voteBlock(vote: PageView['votes'][number], personUrl: (name: string) => string): Html {
  const person = (name: string | null) => (name ? html`<a href="${personUrl(name)}">${name}</a>` : html`<span class="muted">not recorded</span>`);
  return html`<div class="vote" data-testid="vote">
    <p><strong>Motion:</strong> <span data-testid="motion">${vote.motion ?? 'not recorded'}</span></p>
    <p>
      <strong>Moved by</strong> <span data-testid="mover">${person(vote.motion_by)}</span>, <strong>seconded by</strong>
      <span data-testid="seconder">${person(vote.seconded_by)}</span>
    </p>
    <p>
      <strong>Result:</strong> <span data-testid="result">${vote.result}</span>
      ${vote.tally
        ? html`<span data-testid="tally">(${vote.tally.ayes} ayes, ${vote.tally.nays} nays, ${vote.tally.abstain} abstaining, ${vote.tally.absent} absent)</span>`
        : ''}
    </p>
    ${vote.individual_votes.length > 0
      ? html`<table data-testid="member-votes">
          ${vote.individual_votes.map(
            (m) => html`<tr data-testid="member-vote"><td>${person(m.name)}</td><td class="${m.vote === 'aye' || m.vote === 'nay' ? m.vote : ''}">${m.vote}</td></tr>`,
          )}
        </table>`
      : ''}
  </div>`;
}

export function personPage(view: PersonView): Html {
  const siteUrl = `/sites/${view.site}`;
  return layout(
    view.name,
    html`<p><a href="${siteUrl}">${view.siteName}</a></p>
      <h1 data-testid="person-name">${view.name}</h1>
      <p class="muted">Named on ${count(view.pages, 'page')}, in ${count(view.meetingCount, 'meeting')}; took part in ${count(view.voteCount, 'recorded vote')}.${view.pageCount > 1
        ? ` Meetings ${(view.page - 1) * view.perPage + 1}–${Math.min(view.page * view.perPage, view.meetingCount)}, newest first.`
        : ''}</p>
      <h2>Votes</h2>
      ${view.votes.length === 0
        ? html`<p class="muted">No recorded vote names ${view.name}.</p>`
        : html`<table data-testid="person-votes">
            <thead>
              <tr><th>meeting</th><th>motion</th><th>part</th><th>result</th></tr>
            </thead>
            ${view.votes.map(
              (v) => html`<tr data-testid="person-vote">
                <td><a href="${v.url}">${v.meeting} ${v.date} p. ${v.page}</a></td>
                <td>${v.motion ?? ''}</td>
                <td data-testid="part">${[v.moved ? 'moved' : '', v.seconded ? 'seconded' : '', v.vote ? `voted ${v.vote}` : ''].filter(Boolean).join(', ')}</td>
                <td>${v.result ?? ''}</td>
              </tr>`,
            )}
          </table>`}
      <h2>Meetings</h2>
      <ul data-testid="person-meetings">
        ${view.meetings.map(
          (m) => html`<li data-testid="person-meeting">
            <a href="${m.url}">${m.meeting}, ${m.date}</a>: ${m.pages.map((p, i) => html`${i > 0 ? ', ' : ''}<a href="${p.url}">${kindLabel(p.kind)} p. ${p.page}</a>`)}
          </li>`,
        )}
      </ul>
      ${pager(`${siteUrl}/people/${encodeURIComponent(view.name)}`, {}, view.page, view.pageCount)}`,
  );
}

export function lowConfidencePage(view: LowConfidenceView): Html {
  const siteUrl = `/sites/${view.site}`;
  return layout(
    `Low OCR confidence – ${view.siteName}`,
    html`<p><a href="${siteUrl}">${view.siteName}</a></p>
      <h1>Pages read with low OCR confidence</h1>
      <p data-testid="total">${count(view.total, 'page')} under ${view.threshold}/100: their text may be wrong, so check them against the source PDF.</p>
      <table data-testid="low-confidence-pages">
        ${view.pages.map(
          (p) => html`<tr data-testid="low-confidence-page">
            <td><a href="${p.url}">${p.meeting} ${p.date}, ${kindLabel(p.kind)} p. ${p.page}</a></td>
            <td class="low">${Math.round(p.ocrConfidence)}</td>
          </tr>`,
        )}
      </table>
      ${pager(`${siteUrl}/low-confidence`, {}, view.page, view.pageCount)}`,
  );
}

function searchForm(options: { action: string; values: Partial<Record<'q' | 'body' | 'from' | 'to' | 'kind', string>>; bodies?: string[] }): Html {
  const v = options.values;
  const kinds: [string, string][] = [
    ['', 'minutes and agendas'],
    ['minutes', 'minutes'],
    ['agenda', 'agendas'],
  ];
  return html`<form class="search" method="get" action="${options.action}" role="search" data-testid="search-form">
    <label>Search <input type="search" name="q" value="${v.q ?? ''}" placeholder='words, "a phrase", ferry OR bridge' autofocus data-testid="q" /></label>
    <label
      >Meeting body
      ${options.bodies
        ? html`<select name="body" data-testid="body">
            <option value="">all</option>
            ${options.bodies.map((b) => html`<option value="${b}" ${b === v.body ? 'selected' : ''}>${b}</option>`)}
          </select>`
        : html`<input name="body" value="${v.body ?? ''}" placeholder="all" size="12" data-testid="body" />`}
    </label>
    <label>From <input type="date" name="from" value="${v.from ?? ''}" data-testid="from" /></label>
    <label>To <input type="date" name="to" value="${v.to ?? ''}" data-testid="to" /></label>
    <label
      >Kind
      <select name="kind" data-testid="kind">
        ${kinds.map(([value, label]) => html`<option value="${value}" ${value === (v.kind ?? '') ? 'selected' : ''}>${label}</option>`)}
      </select>
    </label>
    <button type="submit" data-testid="search-button">Search</button>
  </form>`;
}

function queryHelp(open: boolean): Html {
  return html`<details class="help" ${open ? 'open' : ''}>
    <summary>How to write a query</summary>
    <ul>
      <li><code>ferry terminal</code>: pages with both words (any form: <code>ferries</code> finds <code>ferry</code>)</li>
      <li><code>"ferry terminal"</code>: the phrase</li>
      <li><code>ferry OR bridge</code>, <code>ferry NOT parking</code>, <code>(ferry OR bridge) AND budget</code></li>
      <li><code>bicycl*</code>: words starting with <code>bicycl</code></li>
      <li><code>NEAR(ferry parking, 5)</code>: the words within 5 words of each other</li>
      <li>Put words with a hyphen or a colon in double quotes: <code>"park-street"</code>. Operators are in capitals.</li>
    </ul>
  </details>`;
}

function pager(path: string, values: Record<string, string>, page: number, pageCount: number): Html {
  if (pageCount <= 1) return html``;
  const link = (n: number) => `${path}?${new URLSearchParams({ ...withoutEmpty(values), page: String(n) }).toString()}`;
  return html`<nav class="pager" data-testid="pager">
    ${page > 1 ? html`<a href="${link(page - 1)}" rel="prev" data-testid="prev-page">← previous</a>` : ''}
    <span>page ${page} of ${pageCount}</span>
    ${page < pageCount ? html`<a href="${link(page + 1)}" rel="next" data-testid="next-page">next →</a>` : ''}
  </nav>`;
}

function withoutEmpty(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== ''));
}

function kindLabel(kind: DocumentKind): string {
  return kind === 'agenda' ? 'agenda' : 'minutes';
}

function shortTime(iso: string): string {
  return iso.replace('T', ' ').slice(0, 16);
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
