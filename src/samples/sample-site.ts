import fs from 'node:fs/promises';
import path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { meetingSlug } from '../fetchers/meeting.js';
import { makeScannedPdf, makeTextPdf } from './pdf-builder.js';

export type SampleDocumentKind = 'minutes' | 'agenda';

export interface SampleDocument {
  kind: SampleDocumentKind;
  /** Meeting name as the index page lists it, e.g. "City Council". */
  meeting: string;
  /** YYYY-MM-DD. */
  date: string;
  /** Relative to the site folder, with forward slashes (also the href on the index page). */
  path: string;
  pageCount: number;
  /** Image-only pages: no text layer, only OCR can read them. */
  scanned: boolean;
}

export interface SampleSiteManifest {
  subdomain: string;
  /** Relative to the site folder: always "index.html". */
  indexPath: string;
  documents: SampleDocument[];
  totalPages: number;
  scannedPages: number;
  /** A word printed only on a page of the scanned document: found by search only if OCR ran. */
  ocrOnlyWord: string;
}

/** Every sample PDF claims this moment as its creation and modification date, so output is reproducible. */
export const SAMPLE_PDF_DATE = new Date(Date.UTC(2026, 0, 31, 12, 0, 0));

/** Printed (as an image) on the second page of the scanned Planning Board minutes, and nowhere else. */
export const OCR_ONLY_WORD = 'QUETZAL';

/** Rendering resolution of the scanned document: sharp enough for tesseract to read reliably. */
const SCAN_DPI = 200;

interface DocumentSpec {
  kind: SampleDocumentKind;
  meeting: string;
  date: string;
  scanned: boolean;
  pages: string[][];
}

/**
 * Writes a small fictional municipality ("Alameda" style) into outDir: an index page listing
 * every PDF, agendas and minutes with a real text layer, one image-only scanned minutes
 * document, and manifest.json describing it all. Same bytes on every run.
 */
export async function writeSampleSite(outDir: string, options: { subdomain?: string } = {}): Promise<SampleSiteManifest> {
  const subdomain = options.subdomain ?? 'alameda.ca';
  await fs.mkdir(outDir, { recursive: true });
  const documents: SampleDocument[] = [];
  for (const spec of sampleDocuments()) {
    const relative = documentPath(spec);
    const title = `${spec.meeting} ${spec.kind === 'minutes' ? 'Minutes' : 'Agenda'} ${spec.date}`;
    const raw = spec.scanned ? await makeScannedPdf(spec.pages, title, SCAN_DPI) : await makeTextPdf(spec.pages, title);
    const bytes = await withFixedMetadata(raw, title);
    const target = path.join(outDir, ...relative.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, bytes);
    documents.push({ kind: spec.kind, meeting: spec.meeting, date: spec.date, path: relative, pageCount: spec.pages.length, scanned: spec.scanned });
  }
  const manifest: SampleSiteManifest = {
    subdomain,
    indexPath: 'index.html',
    documents,
    totalPages: documents.reduce((sum, d) => sum + d.pageCount, 0),
    scannedPages: documents.filter((d) => d.scanned).reduce((sum, d) => sum + d.pageCount, 0),
    ocrOnlyWord: OCR_ONLY_WORD,
  };
  await fs.writeFile(path.join(outDir, manifest.indexPath), renderIndexPage('City of Alameda', documents));
  await fs.writeFile(path.join(outDir, 'about.html'), renderAboutPage('City of Alameda'));
  await fs.writeFile(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** "minutes/CityCouncil/2026-01-05.pdf", "agendas/PlanningBoard/2026-01-12.pdf". */
export function documentPath(doc: { kind: SampleDocumentKind; meeting: string; date: string }): string {
  const folder = doc.kind === 'minutes' ? 'minutes' : 'agendas';
  return `${folder}/${meetingSlug(doc.meeting)}/${doc.date}.pdf`;
}

/**
 * Re-saves a pdf-lib PDF with fixed dates, producer and creator: pdf-lib stamps the current time
 * on every new document, which would make each run's bytes differ.
 */
export async function withFixedMetadata(bytes: Uint8Array, title: string): Promise<Uint8Array> {
  const pdf = await PDFDocument.load(bytes, { updateMetadata: false });
  pdf.setTitle(title);
  pdf.setAuthor('Office of the City Clerk');
  pdf.setProducer('clerk sample-site');
  pdf.setCreator('clerk sample-site');
  pdf.setCreationDate(SAMPLE_PDF_DATE);
  pdf.setModificationDate(SAMPLE_PDF_DATE);
  return pdf.save();
}

export interface IndexListing {
  kind: SampleDocumentKind;
  meeting: string;
  date: string;
  path: string;
}

/** The meetings index page: one `a.document` per PDF, plus links a fetcher must ignore. */
export function renderIndexPage(cityName: string, documents: readonly IndexListing[]): string {
  const rows = documents
    .map((d) => {
      const label = `${d.meeting} ${d.kind}, ${longDate(d.date)}`;
      return (
        `      <li><a class="document" href="${escapeHtml(d.path)}" data-kind="${d.kind}" ` +
        `data-meeting="${escapeHtml(d.meeting)}" data-date="${d.date}">${escapeHtml(label)}</a></li>`
      );
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>${escapeHtml(cityName)} - Agendas and Minutes</title>
  </head>
  <body>
    <nav>
      <a href="about.html">About</a>
      <a href="https://www.example.org/city-services">City Services</a>
      <a href="mailto:clerk@example.org">Contact the City Clerk</a>
      <a href="#documents">Skip to documents</a>
    </nav>
    <h1>${escapeHtml(cityName)}: Agendas and Minutes</h1>
    <p>Documents are posted as PDF files. Older records are available on request from the City Clerk.</p>
    <ul id="documents">
${rows}
    </ul>
    <footer><a href="about.html#accessibility">Accessibility</a></footer>
  </body>
</html>
`;
}

function renderAboutPage(cityName: string): string {
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>About - ${escapeHtml(cityName)}</title></head>
  <body>
    <h1>About this archive</h1>
    <p id="accessibility">A fictional sample municipality for testing clerk. <a href="index.html">Back to the index</a></p>
  </body>
</html>
`;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function longDate(date: string): string {
  const [year, month, day] = date.split('-').map(Number);
  return `${MONTHS[(month ?? 1) - 1]} ${day}, ${year}`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The documents, as lines of text (Helvetica 12pt, no wrapping: keep lines under ~85 characters).
 * The people are fictional; the streets and organizations are the kind a real council names.
 */
function sampleDocuments(): DocumentSpec[] {
  return [
    {
      kind: 'agenda',
      meeting: 'City Council',
      date: '2026-01-05',
      scanned: false,
      pages: [
        [
          'CITY OF ALAMEDA',
          'CITY COUNCIL REGULAR MEETING AGENDA',
          'Monday, January 5, 2026 - 7:00 p.m.',
          'Council Chambers, City Hall, 2263 Santa Clara Avenue',
          '',
          '1. ROLL CALL',
          '',
          '2. AGENDA CHANGES',
          '',
          '3. PROCLAMATIONS, SPECIAL ORDERS OF THE DAY AND ANNOUNCEMENTS',
          '3-A. Proclamation declaring January 2026 as Transit Appreciation Month,',
          '     in partnership with Bay Area Rapid Transit.',
          '',
          '4. ORAL COMMUNICATIONS, NON-AGENDA (PUBLIC COMMENT)',
          '',
          '5. CONSENT CALENDAR',
          '5-A. Minutes of the Special and Regular City Council Meetings held',
          '     on December 16, 2025.',
          '5-B. Recommendation to Approve a Contract with Bayline Paving, Inc.',
          '     in an Amount Not to Exceed $1,245,000 for the Park Street',
          '     Resurfacing Project.',
          '5-C. Adoption of Resolution No. 16012 Accepting a Grant of $350,000',
          '     from the Metropolitan Transportation Commission for Webster Street',
          '     Pedestrian Safety Improvements.',
        ],
        [
          '6. REGULAR AGENDA ITEMS',
          '6-A. Public Hearing to Consider the Shoreline Tree Canopy Plan;',
          '     the Sierra Club has submitted written comments.',
          '6-B. Introduction of Ordinance Amending the Alameda Municipal Code',
          '     Regarding Short-Term Rentals.',
          '6-C. Recommendation to Authorize a Joint Use Agreement with the',
          '     Alameda Unified School District for After-School Recreation',
          '     Programs, with City Funding of $180,000 per Year.',
          '',
          '7. CITY MANAGER COMMUNICATIONS',
          '',
          '8. COUNCIL REFERRALS',
          '8-A. Consider Directing Staff to Study a Ferry Shuttle Between',
          '     Webster Street and Downtown Oakland.',
          '',
          '9. COUNCIL COMMUNICATIONS',
          '',
          '10. ADJOURNMENT',
          '',
          'Agendas and staff reports are available at City Hall and online.',
          'Posted by: Lara Weisiger, City Clerk',
        ],
      ],
    },
    {
      kind: 'minutes',
      meeting: 'City Council',
      date: '2026-01-05',
      scanned: false,
      pages: [
        [
          'MINUTES OF THE REGULAR CITY COUNCIL MEETING',
          'MONDAY, JANUARY 5, 2026 - 7:00 P.M.',
          '',
          'Mayor Ashcraft convened the meeting at 7:02 p.m.',
          '',
          '1. ROLL CALL',
          'Present: Council Members Ortiz, Chen, Ramirez, Vice Mayor Daysog,',
          '         Mayor Ashcraft - 5.',
          'Absent: None.',
          '',
          '2. AGENDA CHANGES',
          'None.',
          '',
          '3. PROCLAMATIONS, SPECIAL ORDERS OF THE DAY AND ANNOUNCEMENTS',
          '(26-001) Proclamation declaring January 2026 as Transit Appreciation Month.',
          'Mayor Ashcraft read the proclamation and presented it to Denise Hartwell,',
          'Community Relations Manager at Bay Area Rapid Transit.',
          '',
          '4. ORAL COMMUNICATIONS, NON-AGENDA',
          'Gregory Malone, Alameda, expressed concern about speeding on Park Street.',
          'Priya Natarajan, Alameda, urged more bicycle parking near Webster Street.',
          '',
          '5. CONSENT CALENDAR',
          'Council Member Chen moved approval of the Consent Calendar.',
          'Motion by Council Member Chen, seconded by Council Member Ortiz.',
          'Ayes: Council Members Ortiz, Chen, Ramirez, Vice Mayor Daysog,',
          '      Mayor Ashcraft - 5. Noes: None. The motion carried unanimously 5-0.',
          '',
          '(26-002) Minutes of the December 16, 2025 meetings. Approved.',
          '(26-003) Contract with Bayline Paving, Inc. in an amount not to exceed',
          '$1,245,000 for the Park Street Resurfacing Project. Accepted.',
          '(26-004) Resolution No. 16012, accepting a grant of $350,000 from the',
          'Metropolitan Transportation Commission for Webster Street. Adopted.',
        ],
        [
          '6. REGULAR AGENDA ITEMS',
          '(26-005) Public Hearing on the Shoreline Tree Canopy Plan.',
          'The Public Works Director, Marcus Feld, gave a presentation.',
          'Stated that the plan would add 1,200 street trees by 2030 at an',
          'estimated cost of $2.4 million.',
          '',
          'Mayor Ashcraft opened the public hearing.',
          'Speakers: Helen Okafor, Sierra Club San Francisco Bay Chapter, in support;',
          'Tom Brandt, Alameda, concerned about sidewalk damage from roots.',
          'Mayor Ashcraft closed the public hearing.',
          '',
          'Vice Mayor Daysog moved adoption of Resolution No. 16013 approving',
          'the Shoreline Tree Canopy Plan.',
          'Motion by Vice Mayor Daysog, seconded by Council Member Ramirez.',
          'Ayes: Council Members Chen, Ramirez, Vice Mayor Daysog, Mayor Ashcraft - 4.',
          'Noes: Council Member Ortiz - 1. The motion carried 4-1.',
          '',
          '(26-006) Introduction of Ordinance Amending the Alameda Municipal Code',
          'Regarding Short-Term Rentals.',
          'The Community Development Director, Andrea Voss, gave a presentation.',
          'Council Member Ortiz stated that hosts on Webster Street and near',
          'the Oakland estuary deserve a longer notice period.',
          'Motion by Council Member Ortiz, seconded by Vice Mayor Daysog, to',
          'introduce the ordinance with a 90-day notice period.',
          'Ayes: Council Members Ortiz, Chen, Vice Mayor Daysog, Mayor Ashcraft - 4.',
          'Noes: Council Member Ramirez - 1. The motion carried 4-1.',
        ],
        [
          '(26-007) Joint Use Agreement with the Alameda Unified School District',
          'for After-School Recreation Programs.',
          'The Recreation and Parks Director, Jonah Whitfield, reported that the',
          'agreement funds programs at six school sites for $180,000 per year.',
          'Superintendent Carla Benitez of the Alameda Unified School District',
          'thanked the Council for the partnership.',
          'Motion by Council Member Ramirez, seconded by Council Member Chen,',
          'to authorize the City Manager to execute the agreement.',
          'Ayes: Council Members Ortiz, Chen, Ramirez, Vice Mayor Daysog,',
          '      Mayor Ashcraft - 5. Noes: None. The motion carried 5-0.',
          '',
          '7. CITY MANAGER COMMUNICATIONS',
          'The City Manager, Jennifer Ott, announced that the Bay Area Rapid Transit',
          'shuttle pilot between Webster Street and the Lake Merritt station in',
          'Oakland will begin in March.',
          '',
          '8. COUNCIL REFERRALS',
          '(26-008) Ferry shuttle study between Webster Street and Downtown Oakland.',
          'Council Member Chen requested staff return with a cost estimate.',
          'There was Council consensus to proceed.',
          '',
          '9. COUNCIL COMMUNICATIONS',
          'Council Member Ramirez reported on the Alameda County Transportation',
          'Commission meeting.',
          '',
          '10. ADJOURNMENT',
          'There being no further business, Mayor Ashcraft adjourned the meeting',
          'at 10:14 p.m.',
          '',
          'Respectfully submitted,',
          'Lara Weisiger, City Clerk',
        ],
      ],
    },
    {
      kind: 'agenda',
      meeting: 'Planning Board',
      date: '2026-01-12',
      scanned: false,
      pages: [
        [
          'CITY OF ALAMEDA',
          'PLANNING BOARD REGULAR MEETING AGENDA',
          'Monday, January 12, 2026 - 7:00 p.m.',
          '',
          '1. CONVENE',
          '2. FLAG SALUTE',
          '3. ROLL CALL',
          '4. AGENDA CHANGES AND DISCUSSION',
          '5. DIRECTOR\'S REPORT',
          '6. ORAL COMMUNICATIONS',
          '7. CONSENT CALENDAR',
          '7-A. Design Review for a Mixed-Use Building at 1500 Park Street,',
          '     with 42 residential units above ground-floor retail.',
          '8. REGULAR AGENDA ITEMS',
          '8-A. Public Hearing on Density Bonus Application for 2100 Webster Street.',
          '8-B. Study Session on the Draft Housing Element Annual Progress Report.',
          '9. MINUTES',
          '9-A. Draft Minutes of the December 8, 2025 Meeting.',
          '10. WRITTEN COMMUNICATIONS',
          '11. BOARD COMMUNICATIONS',
          '12. ADJOURNMENT',
        ],
      ],
    },
    {
      // The one scanned document: short, clear lines, so OCR is reliable.
      kind: 'minutes',
      meeting: 'Planning Board',
      date: '2026-01-12',
      scanned: true,
      pages: [
        [
          'PLANNING BOARD MINUTES',
          'MONDAY, JANUARY 12, 2026',
          '',
          'President Teague convened the meeting at 7:01 p.m.',
          '',
          'ROLL CALL',
          'Present: Board Members Cisneros, Hom, Rothenberg,',
          'Vice President Saheba, President Teague.',
          'Absent: Board Member Curtis.',
          '',
          'CONSENT CALENDAR',
          'Design Review for 1500 Park Street.',
          'Motion by Board Member Hom, seconded by Board Member Cisneros.',
          'Ayes: 5. Noes: 0. The motion carried 5-0.',
        ],
        [
          'REGULAR AGENDA ITEMS',
          '',
          'Density Bonus Application for 2100 Webster Street.',
          'The applicant proposed naming the courtyard the',
          '',
          `${OCR_ONLY_WORD} GARDEN`,
          '',
          'Motion by Vice President Saheba, seconded by Board Member Hom.',
          'Ayes: 4. Noes: 1. The motion carried 4-1.',
          '',
          'ADJOURNMENT',
          'President Teague adjourned the meeting at 9:05 p.m.',
        ],
      ],
    },
    {
      kind: 'agenda',
      meeting: 'City Council',
      date: '2026-01-20',
      scanned: false,
      pages: [
        [
          'CITY OF ALAMEDA',
          'CITY COUNCIL REGULAR MEETING AGENDA',
          'Tuesday, January 20, 2026 - 7:00 p.m.',
          '',
          '1. ROLL CALL',
          '2. AGENDA CHANGES',
          '3. ORAL COMMUNICATIONS, NON-AGENDA (PUBLIC COMMENT)',
          '4. CONSENT CALENDAR',
          '4-A. Minutes of the Regular City Council Meeting held on January 5, 2026.',
          '4-B. Final Passage of Ordinance No. 3391 Amending the Alameda Municipal',
          '     Code Regarding Short-Term Rentals.',
          '4-C. Recommendation to Appropriate $425,000 for Emergency Repairs to the',
          '     Webster Street Storm Drain Outfall.',
          '5. REGULAR AGENDA ITEMS',
          '5-A. Mid-Year Budget Update for Fiscal Year 2025-26.',
          '5-B. Adoption of Resolution No. 16020 Endorsing the Bay Area Rapid',
          '     Transit Core Capacity Program.',
          '6. CITY MANAGER COMMUNICATIONS',
          '7. COUNCIL COMMUNICATIONS',
          '8. ADJOURNMENT',
        ],
      ],
    },
    {
      kind: 'minutes',
      meeting: 'City Council',
      date: '2026-01-20',
      scanned: false,
      pages: [
        [
          'MINUTES OF THE REGULAR CITY COUNCIL MEETING',
          'TUESDAY, JANUARY 20, 2026 - 7:00 P.M.',
          '',
          'Mayor Ashcraft convened the meeting at 7:00 p.m.',
          '',
          '1. ROLL CALL',
          'Present: Council Members Ortiz, Chen, Ramirez, Vice Mayor Daysog,',
          '         Mayor Ashcraft - 5.',
          'Absent: None.',
          '',
          '2. AGENDA CHANGES',
          'Item 5-B was heard before Item 5-A.',
          '',
          '3. ORAL COMMUNICATIONS, NON-AGENDA',
          'Rosa Delgado, Alameda, thanked Public Works for the Park Street paving.',
          '',
          '4. CONSENT CALENDAR',
          'Motion by Council Member Ortiz, seconded by Vice Mayor Daysog, to approve',
          'the Consent Calendar.',
          'Ayes: Council Members Ortiz, Chen, Ramirez, Vice Mayor Daysog,',
          '      Mayor Ashcraft - 5. Noes: None. The motion carried 5-0.',
          '',
          '(26-015) Minutes of January 5, 2026. Approved.',
          '(26-016) Ordinance No. 3391, Short-Term Rentals. Finally passed.',
          '(26-017) Appropriation of $425,000 for the Webster Street storm drain',
          'outfall repairs. Approved.',
        ],
        [
          '5. REGULAR AGENDA ITEMS',
          '(26-018) Resolution No. 16020 Endorsing the Bay Area Rapid Transit',
          'Core Capacity Program.',
          'Speakers: Helen Okafor, Sierra Club, in support; Martin Cole, Oakland',
          'Chamber of Commerce, in support.',
          'Motion by Council Member Chen, seconded by Council Member Ramirez.',
          'Ayes: Council Members Chen, Ramirez, Vice Mayor Daysog, Mayor Ashcraft - 4.',
          'Noes: Council Member Ortiz - 1. The motion carried 4-1.',
          '',
          '(26-019) Mid-Year Budget Update for Fiscal Year 2025-26.',
          'The Finance Director, Nathan Pryor, reported General Fund revenues of',
          '$128.6 million, $2.1 million above projections, driven by sales tax',
          'receipts along Park Street and Webster Street.',
          'Vice Mayor Daysog asked about pension costs; Mr. Pryor responded that',
          'they are within the adopted budget.',
          'The report was accepted without a vote.',
          '',
          '6. CITY MANAGER COMMUNICATIONS',
          'The City Manager announced a joint meeting with the Alameda Unified',
          'School District Board of Education on February 10.',
          '',
          '7. ADJOURNMENT',
          'Mayor Ashcraft adjourned the meeting at 9:41 p.m.',
          '',
          'Respectfully submitted,',
          'Lara Weisiger, City Clerk',
        ],
      ],
    },
  ];
}
