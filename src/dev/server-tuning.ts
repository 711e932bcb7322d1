/**
 * How clerk runs every Temporal server it starts: the dev server (`--dynamic-config-value` flags,
 * temporal-server.ts), the cluster (its dynamicconfig.yaml, temporal-cluster.ts) and the compose
 * stack (deploy/temporal/dynamicconfig.yaml and docker-compose.yml, held to these values by
 * test/unit/server-tuning.test.ts).
 */
export const SERVER_DYNAMIC_CONFIG: Readonly<Record<string, boolean | number | string>> = {
  // The new matcher, so task priorities are honoured.
  'matching.useNewMatcher': true,
  // Priority orders tasks within one partition: with the default 4, a high-priority page can wait
  // behind low ones on another partition (docs/OPERATIONS.md, Priorities). One machine needs no
  // more than one.
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
  // A history queue keeps every task it has run until its next checkpoint (30 s by default), and
  // each time new tasks arrive it walks them all to split its slices: in a nightly refresh, with
  // thousands of tasks a minute on one shard, that walk was an eighth of the server's CPU (a
  // profile of issue 17's fleet benchmark). Checkpointing every second keeps the walk short; a
  // checkpoint is one small write to the shard's row.
  'history.transferProcessorUpdateAckInterval': '1s',
  'history.visibilityProcessorUpdateAckInterval': '1s',
};

/**
 * Settings for the dev server alone, where the CLI's own defaults differ from a real server's.
 * The CLI makes the server read the search attributes' definitions from its database on every use,
 * so that an attribute added while it runs is seen at once: every run's start, upserts and close read
 * them, queued on the dev server's one SQLite connection. Caching them cut the dev server's CPU a site
 * of a fleet refresh by 9-25% (docs/BENCHMARKS.md, (k)). clerk's attributes are created with the
 * server (`--search-attribute`, before it serves), so it may cache them for 60 s as a real server does.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, boolean | number | string>> = {
  'system.forceSearchAttributesCacheRefreshOnRead': false,
};

/**
 * The Go runtime's environment for the server. At the default GOGC (100) the server spent about a
 * tenth of its CPU in a nightly refresh collecting garbage, 2-3% at 400, which lets the heap grow to
 * five times the live data between collections instead of twice. A GOGC the operator set wins.
 */
export function serverGoEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return { GOGC: env.GOGC ?? '400' };
}

/** The dev server's flags for SERVER_DYNAMIC_CONFIG and DEV_SERVER_DYNAMIC_CONFIG: `--dynamic-config-value key=<JSON value>`. */
export function devServerDynamicConfigArgs(): string[] {
  return Object.entries({ ...SERVER_DYNAMIC_CONFIG, ...DEV_SERVER_DYNAMIC_CONFIG }).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}

/** SERVER_DYNAMIC_CONFIG as a dynamicconfig.yaml holds it (JSON is YAML): every value unconstrained. */
export function clusterDynamicConfig(): Record<string, { value: boolean | number | string }[]> {
  return Object.fromEntries(Object.entries(SERVER_DYNAMIC_CONFIG).map(([key, value]) => [key, [{ value }]]));
}
