import type { ColumnType, Generated, Insertable, JSONColumnType, Selectable } from 'kysely';

/** The single source of truth for clerk's tables; migrations/ builds exactly this. */
export interface Database {
  sites: SitesTable;
  site_progress: SiteProgressTable;
  job_tracking: JobTrackingTable;
  documents: DocumentsTable;
  pages: PagesTable;
  deployments: DeploymentsTable;
  listing_rejections: ListingRejectionsTable;
}

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTime = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** `cancelled`: the run was stopped by `clerk cancel`; its unread pages stay pending for the next run. */
export type Stage = 'queued' | 'fetch' | 'ocr' | 'extraction' | 'deploy' | 'completed' | 'failed' | 'cancelled';
export type DocumentKind = 'minutes' | 'agenda';
export type DocumentStatus = 'fetched' | 'done' | 'failed';
export type PageStatus = 'pending' | 'done' | 'failed';
export type PageSource = 'text-layer' | 'ocr';
/** cancelled: the attempt's run was cancelled or closed under it (tracked() in src/activities/tracking.ts). */
export type JobStatus = 'running' | 'succeeded' | 'failed' | 'lost' | 'cancelled';

export interface SitesTable {
  subdomain: string;
  name: string;
  /** Which fetcher reads the site: a platform (`legistar`, `civicplus`, ...), `http-index` or `folder`. */
  fetcher: string;
  /** The platform's base for this site (`--url`): Legistar's Web API client URL, a site root... */
  source_url: string;
  /** `--setting key=value` pairs the site's fetcher reads (`time_zone`, `lookback_days`, platform keys). */
  settings: JSONColumnType<Record<string, string>, string | undefined, string>;
  /** Hosts the site may download from besides its URL's (`--allow-host`), as `host[:port]` or `*.domain`. */
  allowed_hosts: JSONColumnType<string[], string | undefined, string>;
  /** When the last fetch that read every listing ended: the next fetch asks only for meetings since. */
  last_fetched_at: NullableTime;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  last_error_stage: string | null;
  last_error_message: string | null;
  last_error_at: NullableTime;
}

export interface SiteProgressTable {
  subdomain: string;
  workflow_id: string | null;
  run_id: string | null;
  current_stage: Stage;
  /** The original's per-stage counters: pages during OCR, steps otherwise. */
  stage_total: Generated<number>;
  stage_completed: Generated<number>;
  documents_total: Generated<number>;
  documents_done: Generated<number>;
  documents_failed: Generated<number>;
  pages_total: Generated<number>;
  pages_done: Generated<number>;
  pages_failed: Generated<number>;
  started_at: NullableTime;
  updated_at: UpdatedAt;
  finished_at: NullableTime;
}

export interface JobTrackingTable {
  id: Generated<number>;
  /** One row per activity execution attempt: workflow, run, activity id and attempt. */
  job_id: string;
  subdomain: string;
  job_type: string;
  stage: string;
  workflow_id: string;
  run_id: string;
  activity_id: string;
  attempt: number;
  task_queue: string;
  /** The worker host that ran the attempt (CLERK_HOST); null for rows from before it was recorded. */
  host: string | null;
  status: JobStatus;
  started_at: UpdatedAt;
  finished_at: NullableTime;
  error: string | null;
  created_at: CreatedAt;
}

export interface DocumentsTable {
  id: string;
  subdomain: string;
  kind: DocumentKind;
  meeting: string;
  /** The meeting name simplified for paths, as the original does: "City Council" -> CityCouncil. */
  meeting_slug: string;
  meeting_date: string;
  /** '' for the first document of a kind, meeting and date; a stable suffix for a second one. */
  part: ColumnType<string, string | undefined, string>;
  source_url: string;
  storage_key: string;
  content_sha256: string;
  byte_size: number;
  /** HTTP validators of the last download: the next fetch asks conditionally and gets a 304. */
  etag: string | null;
  last_modified: string | null;
  /** The platform's own version stamp for the file when it gives one: a new stamp re-downloads. */
  listed_version: string | null;
  page_count: number | null;
  status: DocumentStatus;
  failure_reason: string | null;
  error: string | null;
  fetched_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface PagesTable {
  document_id: string;
  page_number: number;
  subdomain: string;
  /** The document content this page belongs to; a changed PDF replaces its pages. */
  content_sha256: string;
  status: PageStatus;
  source: PageSource | null;
  text_key: string | null;
  text_sha256: string | null;
  char_count: number | null;
  ocr_engine: string | null;
  failure_reason: string | null;
  error: string | null;
  /** The page's size in PDF points (1/72 inch), from the text-layer pass. */
  width_pt: number | null;
  height_pt: number | null;
  /** Set when the page is one full-page scan: its resolution, which OCR reads it at. */
  scan_ppi: number | null;
  /** The resolution of the image OCR read. */
  ocr_dpi: number | null;
  /** Tesseract's mean word confidence, 0-100. */
  ocr_confidence: number | null;
  /** Clockwise degrees the page was turned to read it upright; null when the engine cannot tell. */
  ocr_rotation: number | null;
  /** No ink on the page: recorded as blank without running OCR. */
  blank: ColumnType<boolean, boolean | undefined, boolean>;
  entities: JSONColumnType<PageEntities | null, string | null, string | null>;
  votes: JSONColumnType<unknown[] | null, string | null, string | null>;
  /** The text hash the entities were computed from: re-extract only when the text changed. */
  extracted_text_sha256: string | null;
  updated_at: UpdatedAt;
}

export interface PageEntities {
  persons: string[];
  orgs: string[];
  locations: string[];
}

/** 'pending' while the remote target runs; 'none' when no target is configured. */
export type DeployHookStatus = 'none' | 'pending' | 'ok' | 'failed';

/**
 * One row per publication: a (site, run, variant) publishes one version, so a run that deploys its
 * fast archive and then its full one has two rows. The files live in the deploy folder
 * (`<site>/versions/<version>/`, src/deploy/layout.ts); which version is live is the folder's
 * `current` symlink, not this table, so a rollback needs no database.
 */
export interface DeploymentsTable {
  id: Generated<number>;
  subdomain: string;
  workflow_id: string;
  run_id: string;
  /** `fast`: search only, published as soon as it is built; `full`: with entities and votes. */
  variant: 'full' | 'fast';
  /** 1 + the highest version the site ever had; never reused. */
  version: number;
  /** The version's meetings.db (`<deployDir>/<site>/versions/<version>/meetings.db`). */
  path: string;
  sha256: string;
  byte_size: number;
  minutes_rows: number;
  agenda_rows: number;
  /** Rows of minutes plus agendas. */
  pages: number;
  entity_count: number;
  vote_count: number;
  published_at: ColumnType<Date, Date | string, Date | string>;
  hook_status: DeployHookStatus;
  hook_error: string | null;
  /**
   * For a full archive, what it was compiled from (src/deploy/freshness.ts), so a re-run of an
   * unchanged site can keep it; null for fast archives and older rows.
   */
  content_fingerprint: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the row was last written (a retry or the hook's outcome updates it). */
  deployed_at: UpdatedAt;
}

/** A listing entry a fetcher could not accept (bad date, refused link), kept until it is fixed. */
export interface ListingRejectionsTable {
  subdomain: string;
  url: string;
  reason: string;
  first_seen_at: CreatedAt;
  last_seen_at: UpdatedAt;
}

export type SiteRow = Selectable<SitesTable>;
export type SiteProgressRow = Selectable<SiteProgressTable>;
export type DocumentRow = Selectable<DocumentsTable>;
export type NewDocument = Insertable<DocumentsTable>;
export type PageRow = Selectable<PagesTable>;
export type JobTrackingRow = Selectable<JobTrackingTable>;
export type DeploymentRow = Selectable<DeploymentsTable>;
