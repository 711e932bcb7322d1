import { DiscoveryBuilder } from './listing.js';
import { checkTimeZone, meetingDateIn, monthNameDate, printable, readDate, usDate } from './meeting.js';
import { HttpClient, type HttpPolicy } from './http.js';
import type { FetchContext, Fetcher, SiteSource } from './types.js';

/** Settings every site may have, whatever its fetcher. */
export const commonSettings: Readonly<Record<string, string>> = {
  time_zone: 'IANA time zone the meeting dates are in, e.g. America/Los_Angeles (default UTC)',
  lookback_days: 'days before the last successful fetch that the next fetch reads again, for minutes posted late (default 60)',
  request_delay_ms: 'least milliseconds between two requests to one host (default 250)',
  host_concurrency: 'requests to one host at once (default 2)',
  ocr_languages: 'tesseract languages for scanned pages, joined by + (default eng; the original ran eng+spa)',
};

export const DEFAULT_LOOKBACK_DAYS = 60;

export class SiteSettingsError extends Error {
  override name = 'SiteSettingsError';
}

/** Parses repeated `key=value` flags into a settings map; the last of a repeated key wins. */
export function parseSettingFlags(flags: readonly string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const flag of flags) {
    const at = flag.indexOf('=');
    if (at <= 0) throw new SiteSettingsError(`--setting "${printable(flag)}" is not key=value`);
    settings[flag.slice(0, at).trim()] = flag.slice(at + 1).trim();
  }
  return settings;
}

/** Refuses unknown keys and bad values, naming the key, so a typo fails when the site is added. */
export function validateSiteSettings(fetcher: Fetcher, settings: Readonly<Record<string, string>>): Record<string, string> {
  const known = { ...commonSettings, ...fetcher.settings };
  for (const key of Object.keys(settings)) {
    if (!(key in known)) {
      throw new SiteSettingsError(`setting "${printable(key)}" means nothing to the ${fetcher.name} fetcher; it reads: ${Object.keys(known).sort().join(', ')}`);
    }
  }
  try {
    if (settings.time_zone !== undefined) checkTimeZone(settings.time_zone);
    readWholeNumber(settings, 'lookback_days', DEFAULT_LOOKBACK_DAYS, 0, 3650);
    readWholeNumber(settings, 'request_delay_ms', 0, 0, 60_000);
    readWholeNumber(settings, 'host_concurrency', 1, 1, 16);
    if (settings.ocr_languages !== undefined && !/^[a-z][a-z_]{1,15}(\+[a-z][a-z_]{1,15}){0,7}$/.test(settings.ocr_languages)) {
      throw new SiteSettingsError(`setting ocr_languages must be tesseract language codes joined by +, like eng+spa; got "${printable(settings.ocr_languages)}"`);
    }
    fetcher.validateSettings?.(settings);
  } catch (error) {
    if (error instanceof SiteSettingsError) throw error;
    throw new SiteSettingsError((error as Error).message);
  }
  return { ...settings };
}

/** `host`, `host:port` or `*.domain`: what `--allow-host` takes. */
export function parseAllowedHost(entry: string): string {
  const host = entry.trim().toLowerCase();
  if (!/^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+(:\d{1,5})?$/.test(host) && !/^\[[0-9a-f:.]+\](:\d{1,5})?$/.test(host)) {
    throw new SiteSettingsError(`--allow-host "${printable(entry)}" is not a host, host:port or *.domain`);
  }
  return host;
}

interface SiteLike {
  subdomain: string;
  fetcher: string;
  source_url: string;
  settings: Readonly<Record<string, string>>;
  allowed_hosts: readonly string[];
}

export function siteSourceOf(site: SiteLike): SiteSource {
  return {
    subdomain: site.subdomain,
    fetcher: site.fetcher,
    baseUrl: site.source_url,
    settings: site.settings,
    timeZone: site.settings.time_zone ?? 'UTC',
  };
}

/** Hosts a site may use: its URL's, the platform's file hosts, and those the operator allowed. */
export function allowedHostsOf(site: SiteLike, fetcher: Fetcher): string[] {
  const base = new URL(site.source_url);
  const hosts = base.protocol === 'file:' ? [] : [base.host];
  return [...new Set([...hosts, ...(fetcher.defaultAllowedHosts?.(base) ?? []), ...site.allowed_hosts])];
}

/**
 * The HTTP client a site's fetch uses: its allowed hosts and its politeness settings. A site served
 * from this machine (the sample site, the platform fixtures, a benchmark corpus) is nobody else's
 * server, so it gets no delay between requests unless its settings ask for one.
 */
export function httpClientFor(site: SiteLike, fetcher: Fetcher, overrides: Partial<HttpPolicy> = {}): HttpClient {
  const allowedHosts = allowedHostsOf(site, fetcher);
  const local = isLoopback(new URL(site.source_url));
  const delay = site.settings.request_delay_ms ?? (local ? '0' : undefined);
  const concurrency = site.settings.host_concurrency ?? (local ? '4' : undefined);
  return new HttpClient({
    allowedHosts: allowedHosts.length > 0 ? allowedHosts : ['localhost.invalid'],
    ...(delay !== undefined ? { perHostDelayMs: Number(delay) } : {}),
    ...(concurrency !== undefined ? { perHostConcurrency: Number(concurrency) } : {}),
    ...overrides,
  });
}

function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/**
 * The first meeting date an incremental fetch asks for: the day of the last successful fetch less
 * the look-back, in the site's time zone. Undefined (everything) before the first one.
 */
export function incrementalSince(site: SiteLike & { last_fetched_at: Date | null }): string | undefined {
  if (!site.last_fetched_at) return undefined;
  const days = readWholeNumber(site.settings, 'lookback_days', DEFAULT_LOOKBACK_DAYS, 0, 3650);
  const from = new Date(site.last_fetched_at.getTime() - days * 86_400_000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: site.settings.time_zone ?? 'UTC', year: 'numeric', month: '2-digit', day: '2-digit' }).format(from);
}

function readWholeNumber(settings: Readonly<Record<string, string>>, key: string, fallback: number, min: number, max: number): number {
  const raw = settings[key];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new SiteSettingsError(`setting ${key} must be a whole number from ${min} to ${max}, got "${printable(raw)}"`);
  return value;
}

/** A registered site ready to read: its fetcher, what the fetcher knows of it, and its HTTP client. */
export interface OpenSite {
  fetcher: Fetcher;
  source: SiteSource;
  http: HttpClient;
  /** What `discover` gets as its third argument. */
  context: FetchContext;
}

/** The context every fetcher's discover() gets, around the site's HTTP client. */
export function fetchContextFor(http: HttpClient): FetchContext {
  return { http, discovery: (options) => new DiscoveryBuilder(options), dates: { meetingDateIn, usDate, monthNameDate, readDate } };
}

/** The one way to read a site, shared by `clerk site discover` and the fetch activity. */
export function openSite(site: SiteLike, registry: { get(name: string): Fetcher }, overrides: Partial<HttpPolicy> = {}): OpenSite {
  const fetcher = registry.get(site.fetcher);
  const http = httpClientFor(site, fetcher, overrides);
  return { fetcher, source: siteSourceOf(site), http, context: fetchContextFor(http) };
}
