import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fixturePdf } from './documents.js';
import type { ExpectedDocument, StartPlatformFixture } from './types.js';

/** Files as a clerk office keeps them: the original's layout, one stray file without a date. */
const FILES: { file: string; kind: 'agenda' | 'minutes'; meeting: string; date: string }[] = [
  { file: 'City Council/2024-01-09.pdf', kind: 'minutes', meeting: 'City Council', date: '2024-01-09' },
  { file: 'City Council/2024-02-13.pdf', kind: 'minutes', meeting: 'City Council', date: '2024-02-13' },
  { file: '_agendas/City Council/2024-02-13.pdf', kind: 'agenda', meeting: 'City Council', date: '2024-02-13' },
  { file: 'Library Board/minutes/03-05-2024.pdf', kind: 'minutes', meeting: 'Library Board', date: '2024-03-05' },
  { file: 'Library Board/agendas/03-05-2024.pdf', kind: 'agenda', meeting: 'Library Board', date: '2024-03-05' },
];
const UNDATED = 'City Council/notes-from-the-clerk.pdf';

/**
 * A folder of PDFs already on disk (`clerk site import-dir`), written into `options.folder` or a
 * temporary folder. It serves nothing over HTTP: the folder fetcher copies files.
 */
export const startFolderFixture: StartPlatformFixture = async (options = {}) => {
  const root = options.folder ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'clerk-folder-site-')));
  const expected: ExpectedDocument[] = [];
  for (const entry of FILES) {
    const target = path.join(root, ...entry.file.split('/'));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, await fixturePdf(entry.kind, entry.meeting, entry.date));
    expected.push({ kind: entry.kind, meeting: entry.meeting, date: entry.date, url: pathToFileURL(target).href });
  }
  await fs.writeFile(path.join(root, ...UNDATED.split('/')), await fixturePdf('minutes', 'City Council', '2024-01-01'));
  return {
    fetcher: 'folder',
    baseUrl: pathToFileURL(root).href,
    settings: {},
    allowHosts: [],
    expected,
    expectedRejected: 1,
    servers: [],
    pdfsSent: () => 0,
    close: async () => {
      if (!options.folder) await fs.rm(root, { recursive: true, force: true });
    },
  };
};
