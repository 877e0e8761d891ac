// The open tenancy: no credentials, the tenant is whatever the request names, else `default`.
// Used when AUTH_MODE=open; auth/ provides the resolver that checks keys and tokens.

import { DEFAULT_TENANT, type TenantResolver } from '../core/index.ts';

export const openTenancy: TenantResolver = {
  forIngest: () => (claimed) => claimed ?? DEFAULT_TENANT,
  forRead: (_request, query) => query.tenant_id ?? DEFAULT_TENANT,
};
