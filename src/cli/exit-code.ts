/** Exit codes every command shares, so scripts can tell a bad request from a broken service. */
export const ExitCode = {
  ok: 0,
  /** The work itself failed: a run ended failed, a search found nothing to search. */
  failed: 1,
  /** The request was wrong: a malformed subdomain, an unknown site, a bad flag. */
  usage: 2,
  /** A service clerk needs (Postgres, Temporal) is not reachable. */
  unavailable: 3,
} as const;
