// Which tenant a request acts for. Routes ask a TenantResolver and never decide on their own,
// so the auth module can replace the open resolver with one that checks keys and tokens.

export const DEFAULT_TENANT = 'default';

export interface IngestCredentials {
  /** A write key found in an SDK-specific place (Segment Basic auth, PostHog api_key, …). */
  key?: string | null;
}

export interface TenantResolver {
  /**
   * Authenticates an ingest request. Returns how to turn the tenant or site alias an event
   * names (or none) into the tenant it is written to; throws AppError 401/403 to refuse.
   */
  forIngest(
    request: Request,
    credentials?: IngestCredentials,
  ): (claimed: string | undefined) => string;
  /** Authenticates a read request; returns the tenant it may read (throws 401/403). */
  forRead(request: Request, query: Record<string, string | undefined>): string;
}

/** No credentials: the tenant is whatever the request names, else `default`. */
export const openTenancy: TenantResolver = {
  forIngest: () => (claimed) => claimed ?? DEFAULT_TENANT,
  forRead: (_request, query) => query.tenant_id ?? DEFAULT_TENANT,
};
