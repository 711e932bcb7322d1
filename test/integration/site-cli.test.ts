import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFolderFixture } from '../../src/samples/platforms/folder.js';
import { startLegistarFixture } from '../../src/samples/platforms/legistar.js';
import { siteAddArguments } from '../../src/samples/platforms/index.js';
import type { PlatformFixture } from '../../src/samples/platforms/types.js';
import { runClerk, type CliResult } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';



let harness: Harness;

/** The real `clerk` CLI in a child process, pointed at this test's database and Temporal server. */
function clerk(...args: string[]): Promise<CliResult> {
  return runClerk(args, harness.env);
}

async function siteNames(): Promise<string[]> {
  return (await harness.db.selectFrom('sites').select('subdomain').orderBy('subdomain').execute()).map((s) => s.subdomain);
}

describe('clerk site, through the real CLI', () => {
  let legistar: PlatformFixture;
  let folder: PlatformFixture;

  beforeAll(async () => {
    harness = await createHarness('site-cli');
    legistar = await startLegistarFixture();
    folder = await startFolderFixture();
  });

  afterAll(async () => {
    await legistar?.close();
    await folder?.close();
    await harness?.close();
  });

  it('adds a Legistar site with its settings and hosts, and discover lists exactly what the platform offers without downloading', async () => {
    const args = siteAddArguments({ fetcher: 'legistar', subdomain: 'lakeport.legistar', start: startLegistarFixture }, legistar);
    const added = await clerk('site', 'add', ...args, '--setting', 'time_zone=America/Chicago', '--json');
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ subdomain: 'lakeport.legistar', fetcher: 'legistar', settings: { ...legistar.settings, time_zone: 'America/Chicago' }, allowed_hosts: legistar.allowHosts });

    const discovered = await clerk('site', 'discover', 'lakeport.legistar', '--json');
    expect(discovered.code).toBe(0);
    const documents = JSON.parse(discovered.stdout) as { kind: string; meeting: string; date: string; url: string }[];
    const key = (d: { kind: string; meeting: string; date: string; url: string }) => `${d.date} ${d.kind} ${d.meeting} ${d.url}`;
    expect(documents.map(key).sort()).toEqual(legistar.expected.map(key).sort());
    expect((JSON.parse(discovered.stderr.trim().split('\n').at(-1)!) as { rejected: unknown[] }).rejected).toHaveLength(legistar.expectedRejected);
    expect(legistar.pdfsSent()).toBe(0);
    expect(await harness.db.selectFrom('documents').select('id').execute()).toEqual([]);

    const ranged = JSON.parse((await clerk('site', 'discover', 'lakeport.legistar', '--from', '2024-01-01', '--to', '2024-06-30', '--json')).stdout) as { date: string }[];
    expect(ranged.length).toBeGreaterThan(0);
    expect(ranged.every((d) => d.date >= '2024-01-01' && d.date <= '2024-06-30')).toBe(true);
  });

  it('refuses a setting the fetcher does not read with exit code 2, and an unknown fetcher too', async () => {
    const typo = await clerk('site', 'add', 'other.legistar', '--fetcher', 'legistar', '--url', legistar.baseUrl, '--setting', 'tokn=abc');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('setting "tokn" means nothing to the legistar fetcher');
    const unknown = await clerk('site', 'add', 'other.legistar', '--fetcher', 'boarddocs', '--url', legistar.baseUrl);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown fetcher "boarddocs"');
    expect(await siteNames()).toEqual(['lakeport.legistar']);
  });

  it('imports many sites from a file, or none of them when a row is bad, naming every bad row', async () => {
    const dir = fs.mkdtempSync(path.join(harness.dataDir, 'import-'));
    const bad = path.join(dir, 'sites.csv');
    fs.writeFileSync(
      bad,
      [
        'subdomain,name,fetcher,url,settings,allow_hosts',
        'seattle.wa,Seattle,legistar,https://webapi.legistar.com/v1/seattle,time_zone=America/Los_Angeles,',
        'fairview.tx,Fairview,civicplus,https://fairview.civicplus.com,,www.fairviewtexas.org',
        'Bad_Row,Bad,legistar,https://webapi.legistar.com/v1/x,,',
        'nowhere.ca,Nowhere,legistar,ftp://example.org/,,',
      ].join('\n'),
    );
    const refused = await clerk('site', 'import', bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/row 3 \(Bad_Row\): .*not a valid site subdomain/);
    expect(refused.stderr).toMatch(/row 4 \(nowhere\.ca\): .*needs an http\(s\) URL/);
    expect(await siteNames()).toEqual(['lakeport.legistar']);

    const good = path.join(dir, 'sites.json');
    fs.writeFileSync(
      good,
      JSON.stringify([
        { subdomain: 'seattle.wa', name: 'Seattle', fetcher: 'legistar', url: 'https://webapi.legistar.com/v1/seattle', settings: { time_zone: 'America/Los_Angeles' } },
        { subdomain: 'fairview.tx', fetcher: 'civicplus', url: 'https://fairview.civicplus.com', allow_hosts: ['www.fairviewtexas.org'] },
      ]),
    );
    const imported = await clerk('site', 'import', good, '--json');
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toEqual({ imported: 2, sites: ['seattle.wa', 'fairview.tx'] });
    expect(await siteNames()).toEqual(['fairview.tx', 'lakeport.legistar', 'seattle.wa']);
  });

  it('registers a folder of PDFs with import-dir and shows what it found and skipped', async () => {
    const folderPath = fileURLToPath(folder.baseUrl);
    const result = await clerk('site', 'import-dir', 'archive.folder', folderPath, '--json');
    expect(result.code).toBe(0);
    const shown = JSON.parse(result.stdout) as { site: { fetcher: string }; documents: number; rejected: unknown[] };
    expect(shown).toMatchObject({ site: { fetcher: 'folder' }, documents: folder.expected.length });
    expect(shown.rejected).toHaveLength(folder.expectedRejected);
  });

  it('removes a site only when told to: --dry-run deletes nothing, no terminal and no --yes refuses, --yes removes', async () => {
    const dryRun = await clerk('site', 'remove', 'seattle.wa', '--dry-run');
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain('would remove seattle.wa: 0 documents, 0 pages, 0 deployments');
    expect(await siteNames()).toContain('seattle.wa');

    const unconfirmed = await clerk('site', 'remove', 'seattle.wa');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('Refusing without --yes');
    expect(await siteNames()).toContain('seattle.wa');

    const removed = await clerk('site', 'remove', 'seattle.wa', '--yes');
    expect(removed.code).toBe(0);
    expect(await siteNames()).not.toContain('seattle.wa');
    expect((await clerk('site', 'remove', 'seattle.wa', '--yes')).code).toBe(2);
  });
});
