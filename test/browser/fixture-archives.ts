import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileArchive, pageRowId, type ArchivePage } from '../../src/archive/compile.js';

/**
 * A deploy folder as deploys write it, for the serve tests (HTTP and browser):
 *
 * - `alameda.ca` in the versioned layout: `versions/1` (the fast, search-only archive) and
 *   `versions/2` (the full one, with entities, votes, an OCR-only word on a scanned page read with
 *   low confidence), `current -> versions/2`, `meetings.db -> current/meetings.db`;
 * - `halifax.ns` as an older deploy left it: a plain `meetings.db`, no `current`, no deployment.json;
 * - folders serve must ignore: a malformed name with an archive, and a site folder without one.
 */

export const ALAMEDA = 'alameda.ca';
export const HALIFAX = 'halifax.ns';
/** Only OCR of the scanned page reads it, and only version 2 has that page. */
export const OCR_ONLY_WORD = 'QUETZAL';

const ortizVote = {
  motion: 'to approve the protected bicycle lanes on Park Street',
  motion_by: 'Maria Ortiz',
  seconded_by: 'John Chen',
  result: 'passed',
  tally: { ayes: 2, nays: 1, abstain: 0, absent: 0 },
  individual_votes: [
    { name: 'Maria Ortiz', vote: 'aye' },
    { name: 'John Chen', vote: 'aye' },
    { name: 'Ana Vasquez', vote: 'nay' },
  ],
  page: 1,
};

const council = { documentId: 'alameda.ca:minutes:CityCouncil:2026-01-05', sourceUrl: 'https://alameda.example/minutes/2026-01-05.pdf', publishedAt: '2026-01-07T09:00:00.000Z' };
const councilAgenda = { documentId: 'alameda.ca:agenda:CityCouncil:2026-01-05', sourceUrl: 'https://alameda.example/agendas/2026-01-05.pdf', publishedAt: '2026-01-02T09:00:00.000Z' };

export const councilPages: ArchivePage[] = [
  {
    kind: 'minutes',
    meeting: 'CityCouncil',
    date: '2026-01-05',
    page: 1,
    text: 'Roll call: Council Members Maria Ortiz, John Chen and Ana Vasquez present.\nMotion by Maria Ortiz, seconded by John Chen, to approve the protected bicycle lanes on Park Street. Ayes: Ortiz, Chen. Noes: Vasquez. Motion passed 2-1.\nThe Alameda Transit Authority reported on ferry ridership.',
    ...council,
    ocrConfidence: null,
    entities: { persons: ['Maria Ortiz', 'John Chen', 'Ana Vasquez'], orgs: ['Alameda Transit Authority'], locations: ['Park Street'] },
    votes: [ortizVote],
  },
  {
    kind: 'minutes',
    meeting: 'CityCouncil',
    date: '2026-01-05',
    page: 2,
    text: 'Public comment on the ferry terminal. A resident asked for <script>alert("x")</script> to be read into the record.',
    ...council,
    ocrConfidence: null,
    entities: { persons: [], orgs: ['<b>Bold & Co</b>'], locations: [] },
    votes: [],
  },
];

/** The scanned page: only in version 2, read by OCR with a confidence under the threshold. */
export const scannedPage: ArchivePage = {
  kind: 'minutes',
  meeting: 'CityCouncil',
  date: '2026-01-05',
  page: 3,
  text: `Handwritten note: the ${OCR_ONLY_WORD} harbor dredging contract was tabled.`,
  ...council,
  ocrConfidence: 41.5,
  entities: { persons: [], orgs: [], locations: ['Alameda Harbor'] },
  votes: [],
};

export const agendaPage: ArchivePage = {
  kind: 'agenda',
  meeting: 'CityCouncil',
  date: '2026-01-05',
  page: 1,
  text: 'Item 4: ferry terminal parking study. Item 5: bicycle lanes on Park Street.',
  ...councilAgenda,
  ocrConfidence: null,
  entities: { persons: [], orgs: [], locations: ['Park Street'] },
  votes: [],
};

export const planningPage: ArchivePage = {
  kind: 'minutes',
  meeting: 'Planning Board',
  date: '2026-02-10',
  page: 1,
  text: 'The board reviewed the ferry terminal design. Ana Vasquez spoke for the neighbours.',
  documentId: 'alameda.ca:minutes:PlanningBoard:2026-02-10',
  sourceUrl: 'https://alameda.example/minutes/planning-2026-02-10.pdf',
  publishedAt: '2026-02-12T09:00:00.000Z',
  ocrConfidence: 88,
  entities: { persons: ['Ana Vasquez'], orgs: [], locations: [] },
  votes: [],
};

/** 25 pages that say "budget": two result pages of 20 and 5. */
export const budgetPages: ArchivePage[] = Array.from({ length: 25 }, (_, i) => ({
  kind: 'minutes' as const,
  meeting: 'Budget Workshop',
  date: '2025-11-03',
  page: i + 1,
  text: `Budget workshop, section ${i + 1}: the budget line for ${['parks', 'roads', 'libraries', 'police', 'fire'][i % 5]} was discussed.`,
  documentId: 'alameda.ca:minutes:BudgetWorkshop:2025-11-03',
  sourceUrl: 'https://alameda.example/minutes/budget-2025-11-03.pdf',
  publishedAt: '2025-11-05T09:00:00.000Z',
  ocrConfidence: null,
  entities: { persons: [], orgs: [], locations: [] },
  votes: [],
}));

export const halifaxPages: ArchivePage[] = [
  {
    kind: 'minutes',
    meeting: 'Regional Council',
    date: '2026-03-11',
    page: 1,
    text: 'Regional Council discussed the Dartmouth ferry schedule and a harbour study.',
    documentId: 'halifax.ns:minutes:RegionalCouncil:2026-03-11',
    sourceUrl: 'https://halifax.example/council/2026-03-11.pdf',
    publishedAt: '2026-03-13T09:00:00.000Z',
    ocrConfidence: null,
    entities: { persons: ['Pam Lovelace'], orgs: ['Halifax Transit'], locations: ['Dartmouth'] },
    votes: [],
  },
];

export const v2Pages = [...councilPages, scannedPage, agendaPage, planningPage, ...budgetPages];
/** The fast path's archive of the run before: no scanned page yet, no entities or votes. */
export const v1Pages = [...councilPages, agendaPage, planningPage, ...budgetPages].map(({ entities: _e, votes: _v, ...page }) => page);

export const pageId = (page: ArchivePage) => pageRowId(page);

export interface FixtureDeploy {
  root: string;
  deployDir: string;
  /** Points alameda.ca's `current` at another version the way deploys do: a new link renamed over. */
  switchAlameda(version: 1 | 2): void;
  remove(): void;
}

export async function buildDeployFolder(): Promise<FixtureDeploy> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-serve-'));
  const deployDir = path.join(root, 'deploy');
  const alameda = path.join(deployDir, ALAMEDA);
  for (const [version, variant, pages] of [
    [1, 'fast', v1Pages],
    [2, 'full', v2Pages],
  ] as const) {
    const dir = path.join(alameda, 'versions', String(version));
    await compileArchive(path.join(dir, 'meetings.db'), iterate(pages), { subdomain: ALAMEDA, siteName: 'City of Alameda', variant });
    fs.writeFileSync(
      path.join(dir, 'deployment.json'),
      JSON.stringify({ subdomain: ALAMEDA, version, variant, sha256: '0'.repeat(64), byteSize: 0, pages: pages.length, entities: 0, votes: 0, publishedAt: `2026-03-0${version}T10:00:00.000Z`, runId: `run-${version}` }),
    );
  }
  fs.symlinkSync(path.join('versions', '2'), path.join(alameda, 'current'));
  fs.symlinkSync(path.join('current', 'meetings.db'), path.join(alameda, 'meetings.db'));

  await compileArchive(path.join(deployDir, HALIFAX, 'meetings.db'), iterate(halifaxPages), { subdomain: HALIFAX, siteName: 'Halifax Regional Municipality', variant: 'full' });
  await compileArchive(path.join(deployDir, 'Not_A_Site', 'meetings.db'), iterate(halifaxPages));
  fs.mkdirSync(path.join(deployDir, 'empty.site'));

  return {
    root,
    deployDir,
    switchAlameda(version) {
      const next = path.join(alameda, `.current-${version}-${process.pid}`);
      fs.symlinkSync(path.join('versions', String(version)), next);
      fs.renameSync(next, path.join(alameda, 'current'));
    },
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
