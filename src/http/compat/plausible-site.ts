// Who may read which site through Plausible's Stats APIs (v1 and v2): `site_id` is a Plausible
// domain, in required mode a `plausible_domain` alias of the project the bearer (a read key or
// a member's access token) may read, in open mode the tenant it names (as the Events API maps
// `d`); and Plausible's error body, `{"error": "…"}`, for every refusal of those routes.

import { readCredentialOf } from '../../auth/index.ts';
import { AppError, eventLimits } from '../../core/index.ts';
import { type AppDeps, requiredAuthOf } from '../context.ts';
import { TENANT_PATTERN } from '../model.ts';
import { badRequest } from './plausible-stats-params.ts';
import { errorHeaders, json } from './responses.ts';

const MISSING_KEY = 'Missing API key. Please use a valid Plausible API key as a Bearer Token.';
const INVALID_KEY =
  "Invalid API key or site ID. Please make sure you're using a valid API key with access to " +
  "the site you've requested.";
const MISSING_SITE =
  'Missing site ID. Please provide the required site_id parameter with your request.';

const SITE_RE = new RegExp(TENANT_PATTERN);

/** Plausible's error body; Tally's field issues (a 422) are a 400 with their messages. */
export function plausibleError(error: AppError, retryAfterSeconds: number): Response {
  const issues = error.status === 422 ? (error.issues ?? []).map((i) => i.msg) : [];
  const message = issues.length > 0 ? issues.join('; ') : error.message;
  const status = error.status === 422 ? 400 : error.status;
  return json({ error: message }, status, errorHeaders(error, retryAfterSeconds));
}

/** In required mode, a request without a key is Plausible's 401 (before anything is read). */
export function requireKey(deps: AppDeps, request: Request): ReturnType<typeof requiredAuthOf> {
  const auth = requiredAuthOf(deps);
  if (auth !== null && readCredentialOf(request) === null) {
    throw new AppError('unauthorized', MISSING_KEY);
  }
  return auth;
}

/**
 * The tenant `siteId` names for this request's credentials. In required mode a missing key
 * is 401 before anything else, as Plausible answers; an unknown site, a site of another
 * project, a key that may not read it, or any other credential problem is the one 401 Plausible
 * gives for all of them (nothing tells a site that exists from one that does not).
 */
export function siteTenant(deps: AppDeps, request: Request, siteId: string | null): string {
  const auth = requireKey(deps, request);
  const site = siteId?.trim() ?? '';
  if (site === '') throw badRequest(MISSING_SITE);
  // No tenant or alias has another name: never handed to the store.
  if (site.length > eventLimits.tenantCharsMax || !SITE_RE.test(site)) {
    throw new AppError('unauthorized', INVALID_KEY);
  }
  // Open: the domain is the tenant, as the Events API writes `d` (without a leading www.).
  if (auth === null)
    return deps.tenancy.forRead(request, { tenant_id: site.replace(/^www\./i, '') });
  const alias = auth.stores.aliases.get(site);
  try {
    // An unknown site is refused as another project's is: charged, the same headers.
    if (alias === null || alias.kind !== 'plausible_domain')
      throw auth.tenancy.unknownRefusal(request);
    return deps.tenancy.forRead(request, { tenant_id: alias.projectId });
  } catch (error) {
    if (error instanceof AppError && (error.status === 401 || error.status === 403)) {
      throw new AppError('unauthorized', INVALID_KEY, { cause: error });
    }
    throw error;
  }
}
