import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DocumentKind } from '../db/schema.js';
import { DiscoveryBuilder } from './listing.js';
import { printable } from './meeting.js';
import { FetchError, type Fetcher, type SiteSource } from './types.js';

const MAX_FILES = 100_000;
const MAX_DEPTH = 6;
/** Folder names that say what is inside rather than naming a meeting. */
const KIND_FOLDERS = /^_?(agendas?|minutes|pdfs?)$/i;

/**
 * PDFs already on disk (`clerk site import-dir`). A file's kind comes from its path ("agenda" in a
 * folder or file name, else minutes), its date from its file name (2020-01-07, 01-07-2020,
 * 01072020), its meeting from the nearest folder that is not a kind folder, or the `meeting`
 * setting. The original clerk's own layout (`<Meeting>/<date>.pdf`, agendas under `_agendas/`)
 * reads as it was written.
 */
export const folderFetcher: Fetcher = {
  name: 'folder',
  description: 'PDFs in a local folder (--url file:///path): <Meeting>/<YYYY-MM-DD>.pdf, agendas under _agendas/',
  settings: {
    meeting: 'the meeting name for files whose folders do not name one',
  },

  async discover(site, options) {
    const root = folderOf(site);
    const builder = new DiscoveryBuilder({ ...options, allowFileUrls: true });
    for (const file of pdfFiles(root)) {
      const relative = path.relative(root, file).split(path.sep);
      builder.add(() => {
        const stat = fs.statSync(file);
        return {
          kind: kindOf(relative),
          meeting: meetingOf(relative, site.settings.meeting),
          date: dateOf(relative.at(-1)!),
          url: pathToFileURL(file).href,
          // Size and modification time: a file replaced on disk is copied and read again.
          version: `${stat.size}-${Math.trunc(stat.mtimeMs)}`,
        };
      }, undefined, pathToFileURL(file).href);
    }
    return builder.finish();
  },

  async copyDocument(site, document, destination) {
    const root = folderOf(site);
    const source = fileURLToPath(document.url);
    if (path.relative(root, source).startsWith('..')) throw new FetchError(`${source} is outside the site's folder ${root}`, true, 'bad-url');
    const head = Buffer.alloc(1024);
    const handle = await fs.promises.open(source, 'r');
    try {
      const { bytesRead } = await handle.read(head, 0, head.length, 0);
      if (!head.subarray(0, bytesRead).includes('%PDF-')) throw new FetchError(`${source} is not a PDF`, true, 'not-pdf');
    } finally {
      await handle.close();
    }
    await fs.promises.mkdir(path.dirname(destination), { recursive: true });
    await fs.promises.copyFile(source, destination);
  },
};

function folderOf(site: SiteSource): string {
  const url = new URL(site.baseUrl);
  if (url.protocol !== 'file:') throw new FetchError(`the folder fetcher needs a file:// URL, got ${site.baseUrl}`, true, 'bad-url');
  const root = fileURLToPath(url);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new FetchError(`${root} is not a folder on this machine`, true, 'not-found');
  return root;
}

function* pdfFiles(root: string): Generator<string> {
  let seen = 0;
  const walk = function* (folder: string, depth: number): Generator<string> {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory() && depth < MAX_DEPTH && !entry.name.startsWith('.')) yield* walk(full, depth + 1);
      else if (entry.isFile() && /\.pdf$/i.test(entry.name)) {
        if (++seen > MAX_FILES) throw new FetchError(`${root} holds more than ${MAX_FILES} PDFs; import it in parts`, true, 'bad-listing');
        yield full;
      }
    }
  };
  yield* walk(root, 0);
}

function kindOf(relative: string[]): DocumentKind {
  return relative.some((part) => /agenda/i.test(part)) ? 'agenda' : 'minutes';
}

function meetingOf(relative: string[], fallback: string | undefined): string {
  const folder = relative.slice(0, -1).reverse().find((part) => !KIND_FOLDERS.test(part));
  const meeting = folder ?? fallback;
  if (!meeting) throw new Error(`no folder names the meeting of ${printable(relative.join('/'))}; put it in a <Meeting>/ folder or set --setting meeting=...`);
  return meeting;
}

function dateOf(fileName: string): string {
  const stem = fileName.replace(/\.pdf$/i, '');
  const iso = /(\d{4})[-_.](\d{2})[-_.](\d{2})/.exec(stem);
  if (iso) return `${iso[1]}-${iso[2]}-${iso[3]}`;
  const us = /(\d{2})[-_.]?(\d{2})[-_.]?(\d{4})/.exec(stem);
  if (us) return `${us[3]}-${us[1]}-${us[2]}`;
  throw new Error(`file name "${printable(fileName)}" has no date (YYYY-MM-DD or MM-DD-YYYY)`);
}
