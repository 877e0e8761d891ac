// Which tenant a request acts for. HTTP routes ask a TenantResolver and never decide on their
// own; the open resolver (no credentials) lives in http/, the key-and-token one in auth/.

export const DEFAULT_TENANT = 'default';

/**
 * What a tenant string (a project id, an alias, a request's tenant_id) is made of, as JSON
 * Schema and RegExp source; at most eventLimits.tenantCharsMax characters. One definition for
 * the routes' schemas (http/) and auth's checks of project ids and aliases.
 */
export const TENANT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]*$';

export interface IngestCredentials {
  /** A write key found in an SDK-specific place (Segment Basic auth, PostHog api_key, …). */
  key?: string | null;
  /**
   * false: checks the key (or the alias of a keyless beacon) without spending the write rate,
   * for a request that writes nothing (PostHog's feature flags, asked at every page load;
   * Umami's identify, performance, engagement and error items) and must not starve the captures.
   */
  rateLimited?: boolean;
}

export interface TenantResolver {
  /**
   * Authenticates an ingest request. Returns how to turn the tenant or site alias an event
   * names (or none) into the tenant it is written to; throws AppError 401/403/429 to refuse.
   */
  forIngest(
    request: Request,
    credentials?: IngestCredentials,
  ): (claimed: string | undefined) => string;
  /**
   * Authenticates a read request; returns the tenant it may read (throws 401/403/429).
   * `rateLimited: false` re-checks credentials already admitted (a live socket's, from time
   * to time) without spending their rate limit.
   */
  forRead(
    request: Request,
    query: Record<string, string | undefined>,
    options?: { rateLimited?: boolean },
  ): string;
}
