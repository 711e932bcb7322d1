import { startCivicclerkFixture } from './civicclerk.js';
import { startCivicplusFixture } from './civicplus.js';
import { startFolderFixture } from './folder.js';
import { startGranicusFixture } from './granicus.js';
import { startHttpIndexFixture } from './http-index.js';
import { startLegistarFixture } from './legistar.js';
import { startPrimegovFixture } from './primegov.js';
import type { StartPlatformFixture } from './types.js';

export interface PlatformFixtureEntry {
  fetcher: string;
  /** The subdomain the README and tests register this fixture as. */
  subdomain: string;
  start: StartPlatformFixture;
}

/** One fictional municipality per platform, in that platform's real formats. */
export const platformFixtures: readonly PlatformFixtureEntry[] = [
  { fetcher: 'legistar', subdomain: 'lakeport.legistar', start: startLegistarFixture },
  { fetcher: 'civicplus', subdomain: 'fairview.civicplus', start: startCivicplusFixture },
  { fetcher: 'granicus', subdomain: 'rivertown.granicus', start: startGranicusFixture },
  { fetcher: 'primegov', subdomain: 'bayside.primegov', start: startPrimegovFixture },
  { fetcher: 'civicclerk', subdomain: 'millbrook.civicclerk', start: startCivicclerkFixture },
  { fetcher: 'http-index', subdomain: 'oakdale.town', start: startHttpIndexFixture },
  { fetcher: 'folder', subdomain: 'archive.folder', start: startFolderFixture },
];

/** `clerk site add` arguments that register a running fixture. */
export function siteAddArguments(entry: PlatformFixtureEntry, fixture: { baseUrl: string; settings: Record<string, string>; allowHosts: string[] }): string[] {
  return [
    entry.subdomain,
    '--fetcher',
    entry.fetcher,
    '--url',
    fixture.baseUrl,
    ...Object.entries(fixture.settings).flatMap(([key, value]) => ['--setting', `${key}=${value}`]),
    ...fixture.allowHosts.flatMap((host) => ['--allow-host', host]),
  ];
}
