import type { DocumentKind } from '../../db/schema.js';
import type { FixtureServer } from './fixture-server.js';

/** A document a platform fixture lists, as `clerk site discover --json` must report it. */
export interface ExpectedDocument {
  kind: DocumentKind;
  /** The meeting name as the fixture's platform gives it, whitespace-normalised. */
  meeting: string;
  date: string;
  /** The URL the fetcher must list (and download) for it. */
  url: string;
}

/**
 * One platform's fixture running on loopback: what to register (`clerk site add <sub> --fetcher
 * <fetcher> --url <baseUrl> --setting ... --allow-host ...`) and what discovery must find.
 */
export interface PlatformFixture {
  fetcher: string;
  baseUrl: string;
  settings: Record<string, string>;
  /** Hosts besides the base URL's that its documents are served from (a file host, a city domain). */
  allowHosts: string[];
  /** Exactly the documents discovery over the whole history lists, in any order. */
  expected: ExpectedDocument[];
  /** How many listing entries the fixture holds that discovery must reject (bad date, no link...). */
  expectedRejected: number;
  servers: FixtureServer[];
  /** PDF bodies the fixture's servers sent (a 304 does not count). */
  pdfsSent(): number;
  close(): Promise<void>;
}

export interface PlatformFixtureOptions {
  /** Port of the platform's main server (0: any free port). */
  port?: number;
  /** Port of a second host, where the platform keeps files or redirects to (0: any). */
  filesPort?: number;
  /** The folder fixture only: where to write its PDFs (default: a temporary folder it removes). */
  folder?: string;
}

export type StartPlatformFixture = (options?: PlatformFixtureOptions) => Promise<PlatformFixture>;

/** A fixture's servers answer for its PDFs sent and its closing; the rest it describes itself. */
export function platformFixture(description: Omit<PlatformFixture, 'pdfsSent' | 'close'>): PlatformFixture {
  return {
    ...description,
    pdfsSent: () => description.servers.reduce((sum, server) => sum + server.pdfsSent(), 0),
    close: async () => {
      await Promise.all(description.servers.map((server) => server.close()));
    },
  };
}
