// The open tenancy: no credentials, the tenant is whatever the request names, else `default`.
// Used when AUTH_MODE=open; auth/ provides the resolver that checks keys and tokens.

import { AppError, DEFAULT_TENANT, type ErrorCode, type TenantResolver } from '../core/index.ts';

export const openTenancy: TenantResolver = {
  forIngest: () => (claimed) => claimed ?? DEFAULT_TENANT,
  forRead: (_request, query) => query.tenant_id ?? DEFAULT_TENANT,
};

/** The codes of a resolver's refusals: the credentials no longer read the tenant. */
const REFUSAL_CODES: ReadonlySet<ErrorCode> = new Set(['unauthorized', 'forbidden', 'not_found']);

/**
 * Whether an error of a credentials re-check refuses them (401, 403, 404 as the resolver throws
 * them); anything else (a database error) says nothing about them.
 */
export function isRefusal(error: unknown): boolean {
  return error instanceof AppError && REFUSAL_CODES.has(error.code);
}
