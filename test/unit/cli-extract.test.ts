import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;

function clerk(args: string[], input?: string) {
  const run = spawnSync(process.execPath, [path.join(root, 'bin/clerk.mjs'), ...args], { cwd: root, input, encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const PAGE = [
  'ROLL CALL - Present: Council Members Maria Ortiz, Chen, Ramirez and Mayor Ashcraft.',
  'Absent: Council Member Kowalski.',
  'John Walker of the Sierra Club spoke about Riverside Park.',
  'Motion by Council Member Ortiz, seconded by Council Member Chen, to approve the Consent Calendar.',
  'Ayes: Ortiz, Chen, Ramirez, Ashcraft. Noes: None. Absent: Kowalski.',
  'The motion carried 4-0.',
].join('\n');

/** A PDF with a text layer: one line of text per `lines` entry, one page per array; `null` is a blank page. */
async function writePdf(file: string, pages: (string[] | null)[]): Promise<void> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = pdf.addPage([612, 792]);
    (lines ?? []).forEach((line, i) => page.drawText(line, { x: 50, y: 740 - i * 16, size: 10, font }));
  }
  fs.writeFileSync(file, await pdf.save());
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clerk-cli-extract-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('clerk extract', () => {
  it('prints the JSON stored in meetings.db for one page of text', () => {
    const file = path.join(dir, 'page.txt');
    fs.writeFileSync(file, PAGE);
    const { code, stdout } = clerk(['extract', file, '--json']);
    expect(code).toBe(0);
    const page = JSON.parse(stdout);
    expect(Object.keys(page).sort()).toEqual(['entities', 'votes']);
    expect(page.entities.persons).toEqual(['Ashcraft', 'Chen', 'John Walker', 'Kowalski', 'Maria Ortiz', 'Ramirez']);
    expect(page.entities.orgs).toEqual(['Sierra Club']);
    expect(page.entities.locations).toEqual(['Riverside Park']);
    expect(page.votes).toHaveLength(1);
    expect(page.votes[0]).toMatchObject({
      page: 1,
      motion_by: 'Maria Ortiz',
      seconded_by: 'Chen',
      result: 'passed',
      tally: { ayes: 4, nays: 0, abstain: 0, absent: 1 },
    });
    expect(page.votes[0].individual_votes).toEqual([
      { name: 'Maria Ortiz', vote: 'aye' },
      { name: 'Chen', vote: 'aye' },
      { name: 'Ramirez', vote: 'aye' },
      { name: 'Ashcraft', vote: 'aye' },
      { name: 'Kowalski', vote: 'absent' },
    ]);
  });

  it('reads standard input for "-" and prints a readable summary without --json', () => {
    const { code, stdout } = clerk(['extract', '-'], PAGE);
    expect(code).toBe(0);
    expect(stdout).toContain('persons:   Ashcraft; Chen; John Walker; Kowalski; Maria Ortiz; Ramirez');
    expect(stdout).toMatch(/1\. page 1: passed 4-0-0-1 .*moved by Maria Ortiz, seconded by Chen/);
    expect(stdout).toContain('absent: Kowalski');
  });

  it('reads a whole PDF as one document and says which pages have no text layer', async () => {
    const file = path.join(dir, 'minutes.pdf');
    await writePdf(file, [
      ['ROLL CALL - Present: Council Members Ortiz, Chen, Ramirez and Mayor Ashcraft.', 'Absent: Council Member Kowalski.'],
      null,
      ['Motion by Council Member Chen, seconded by Mayor Ashcraft, to adjourn.', 'The motion carried unanimously.'],
    ]);
    const { code, stdout, stderr } = clerk(['extract', '--pdf', file, '--json']);
    expect(code).toBe(0);
    expect(stderr).toMatch(/page 2 of 3 has no usable text layer .*does not OCR/);
    const result = JSON.parse(stdout);
    expect(result.pages.map((p: { page: number; textLayer: boolean }) => [p.page, p.textLayer])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
    const [vote] = result.pages[2].votes;
    expect(vote).toMatchObject({ page: 3, motion_by: 'Chen', seconded_by: 'Ashcraft', result: 'passed', tally: { ayes: 4, nays: 0, abstain: 0, absent: 1 } });
    expect(vote.individual_votes).toContainEqual({ name: 'Kowalski', vote: 'absent' });
  });

  it('exits 2 for a missing file, for no input at all and for a file that is not a PDF', () => {
    expect(clerk(['extract', path.join(dir, 'missing.txt')])).toMatchObject({ code: 2, stderr: expect.stringContaining('no such file') });
    expect(clerk(['extract']).code).toBe(2);
    const notPdf = path.join(dir, 'not.pdf');
    fs.writeFileSync(notPdf, 'plain text');
    expect(clerk(['extract', '--pdf', notPdf]).code).toBe(2);
  });
});
